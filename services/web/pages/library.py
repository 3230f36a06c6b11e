"""Pages: the sales engineer's library. Documents (list, filters, one document with its text, versions and
chunks), uploads (a file or pasted markdown) and the upload's job, watched until it is indexed.

Every read and write goes through the ingest API as the signed-in user: engineers and managers read (admin
always), writes need engineer like the API's WRITERS guard.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template

from services.core.auth import Role
from services.web.accounts import Account
from services.web.api import Api, ApiError
from services.web.forms import form_text
from services.web.session import accounts, page, require

READERS = (Role.ENGINEER, Role.MANAGER)
# The ingest contract's document kinds (DESIGN section 4), in the order the filter and the form offer them.
KINDS = ("feature", "competitor", "case_study", "objection", "call_note", "other")
PAGE_SIZE = 25
# Form fields forwarded to POST /ingest/v1/documents as they are; empty ones are left out so front matter
# in an uploaded markdown file can supply them.
UPLOAD_FIELDS = ("external_id", "kind", "title", "owner", "product", "competitor", "tags")
DONE = {
    "deleted": "Document deleted, with every version and chunk.",
    "verified": "Marked as verified; the next review falls due after the review interval.",
    "unchanged": "Nothing changed: the content and fields are the same as the latest version.",
}
FINISHED = ("succeeded", "failed")
JOB_DOCUMENTS_SHOWN = 10


def _writer(user: Account) -> bool:
    return user.principal.has_any({Role.ENGINEER, Role.ADMIN})


async def _names(request: Request[Any, Any, Any], user: Account) -> dict[str, str]:
    """Display names of the org's web users by API id (sub): the web service's own table."""
    return {a.sub: a.name for a in await accounts(request).list_users(user.org)}


def _stale_param(stale: str) -> bool | None:
    return {"true": True, "false": False}.get(stale)


@get("/library", name="library")
async def library_list(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    kind: FromQuery[str] = "",
    competitor: Annotated[str, Parameter(max_length=120)] = "",
    stale: FromQuery[str] = "",
    q: Annotated[str, Parameter(max_length=200)] = "",
    offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
    done: FromQuery[str] = "",
) -> Template:
    require(user, *READERS)
    filters = {
        "kind": kind if kind in KINDS else "",
        "competitor": competitor.strip(),
        "stale": stale if stale in ("true", "false") else "",
        "q": q.strip(),
    }
    params: dict[str, Any] = {**filters, "stale": _stale_param(filters["stale"]), "limit": PAGE_SIZE}
    result = await api.get("/ingest/v1/documents", {**params, "offset": offset})
    total = int(result["total"])
    query = {k: v for k, v in filters.items() if v}

    def page_link(at: int) -> str:
        return "/library?" + urlencode({**query, "offset": at})

    return page(
        "library/list.html",
        user,
        title="Library",
        notice=DONE.get(done),
        documents=result["items"],
        total=total,
        filters=filters,
        kinds=KINDS,
        names=await _names(request, user),
        writer=_writer(user),
        first=offset + 1 if result["items"] else 0,
        last=offset + len(result["items"]),
        prev_link=page_link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        next_link=page_link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
    )


def _upload_form(user: Account, *, values: dict[str, str], error: str | None = None, **extra: Any) -> Template:
    return page(
        "library/upload.html",
        user,
        title="Upload a document",
        values=values,
        kinds=KINDS,
        error=error,
        field_errors=extra.pop("field_errors", []),
        **extra,
    )


@get("/library/upload")
async def upload_page(user: NamedDependency[Account]) -> Template:
    require(user, Role.ENGINEER)
    return _upload_form(user, values={})


@post("/library/upload", status_code=303)
async def upload(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
) -> Template | Redirect:
    """A file (multipart, as the API takes it) or pasted markdown (JSON). The API validates; its message is shown
    on the form with the status it gave."""
    require(user, Role.ENGINEER)
    form = await request.form()
    values = {k: form_text(form, k) for k in (*UPLOAD_FIELDS, "content")}
    fields = {k: values[k] for k in UPLOAD_FIELDS if values[k]}
    upload_file = form.get("file")
    has_file = isinstance(upload_file, UploadFile) and bool(upload_file.filename)
    try:
        if has_file and values["content"]:
            return _upload_form(user, values=values, error="choose a file or paste markdown, not both", status_code=422)
        if isinstance(upload_file, UploadFile) and has_file:
            data = await upload_file.read()
            media = upload_file.content_type or "application/octet-stream"
            accepted = await api.post(
                "/ingest/v1/documents", files={"file": (upload_file.filename, data, media)}, data=fields
            )
        elif values["content"]:
            body: dict[str, Any] = {**fields, "content": values["content"], "content_type": "markdown"}
            if "tags" in body:
                body["tags"] = [t.strip() for t in body["tags"].split(",") if t.strip()]
            accepted = await api.post("/ingest/v1/documents", json=body)
        else:
            return _upload_form(
                user, values=values, error="choose a file to upload or paste the markdown text", status_code=422
            )
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return _upload_form(
            user, values=values, error=exc.message, field_errors=exc.field_messages(), status_code=exc.status
        )
    if accepted["status"] == "unchanged" or not accepted.get("job_id"):
        return Redirect(f"/library/documents/{accepted['document_id']}?done=unchanged", status_code=303)
    return Redirect(f"/library/jobs/{accepted['job_id']}", status_code=303)


@get("/library/jobs/{job_id:str}")
async def job_page(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api], job_id: FromPath[str]
) -> Template:
    """The upload's job. The status box polls itself every second (htmx) until the job has finished; an htmx
    request gets only that box."""
    require(user, *READERS)
    job = await api.get(f"/ingest/v1/jobs/{job_id}")
    documents = []
    # A batch job may carry 200 documents and the box polls every second: link the first few by title.
    for item in job["documents"][:JOB_DOCUMENTS_SHOWN]:
        try:
            documents.append(await api.get(f"/ingest/v1/documents/{item['document_id']}"))
        except ApiError as exc:
            if exc.status != 404:  # deleted since: the job still lists it
                raise
    progress = job["progress"]
    percent = round(100 * progress["done"] / progress["total"]) if progress["total"] else 0
    context = {
        "job": job,
        "documents": documents,
        "more": max(len(job["documents"]) - JOB_DOCUMENTS_SHOWN, 0),
        "finished": job["status"] in FINISHED,
        "percent": percent,
    }
    if request.headers.get("hx-request"):
        return page("library/_job_status.html", user, title="Ingest job", **context)
    return page("library/job.html", user, title="Ingest job", **context)


@get("/library/documents/{document_id:str}")
async def document_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    document_id: FromPath[str],
    version: Annotated[int | None, Parameter(ge=1, le=2_147_483_647)] = None,
    done: FromQuery[str] = "",
) -> Template:
    """One document: its fields, stale reasons, who verified it, the text of its current version (or the one
    asked for), its versions and its chunks."""
    require(user, *READERS)
    base = f"/ingest/v1/documents/{document_id}"
    document = await api.get(base)
    versions = await api.get(f"{base}/versions")
    shown = version or document["current_version"] or document["latest_version"]
    text = await api.get(f"{base}/versions/{shown}") if shown else None
    chunks = await api.get(f"{base}/chunks")
    return page(
        "library/document.html",
        user,
        title=document["title"],
        notice=DONE.get(done),
        doc=document,
        versions=versions["items"],
        text=text,
        chunks=chunks,
        names=await _names(request, user),
        writer=_writer(user),
    )


@post("/library/documents/{document_id:str}/verify", status_code=303)
async def verify(user: NamedDependency[Account], api: NamedDependency[Api], document_id: FromPath[str]) -> Redirect:
    require(user, Role.ENGINEER)
    await api.post(f"/ingest/v1/documents/{document_id}/verify")
    return Redirect(f"/library/documents/{document_id}?done=verified", status_code=303)


@post("/library/documents/{document_id:str}/delete", status_code=303)
async def delete(user: NamedDependency[Account], api: NamedDependency[Api], document_id: FromPath[str]) -> Redirect:
    require(user, Role.ENGINEER)
    await api.delete(f"/ingest/v1/documents/{document_id}")
    return Redirect("/library?done=deleted", status_code=303)


ROUTES: list[object] = [library_list, upload_page, upload, job_page, document_page, verify, delete]
