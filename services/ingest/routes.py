"""Ingest HTTP API under /ingest/v1: HTTP only; the logic lives in service.py."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from pydantic import ValidationError

from services.core.auth import Principal, Role, requires
from services.core.errors import (
    AppError,
    BadRequest,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    error_responses,
)
from services.core.http import app_context
from services.ingest.models import DocumentKind
from services.ingest.openapi import BatchOperation, DocumentOperation
from services.ingest.schemas import (
    BatchAccepted,
    BatchIn,
    ChunkList,
    DocumentAccepted,
    DocumentIn,
    DocumentOut,
    DocumentPage,
    JobOut,
    VerifyIn,
    VersionDetail,
    VersionList,
)
from services.ingest.service import IngestService, validation_details
from services.ingest.tasks import announce, send_new_job

WRITERS = requires(Role.ENGINEER)


def provide_service(state: State) -> IngestService:
    ctx = app_context(state)
    service: IngestService | None = ctx.extras.get("ingest_service")
    if service is None:
        service = IngestService(
            ctx.sessions,
            ctx.store,
            ctx.settings.ingest,
            lambda job_id: send_new_job(ctx.celery, job_id),
            lambda change: announce(ctx.celery, change),
        )
        ctx.extras["ingest_service"] = service
    return service


async def _json_body(request: Request[Any, Any, Any], limit: int) -> Any:
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"the request body is {len(body)} bytes; the limit is {limit}")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


class IngestController(Controller):
    path = "/ingest/v1"
    tags = ["ingest"]
    dependencies = {"service": Provide(provide_service, sync_to_thread=False)}

    @post(
        "/documents",
        guards=[WRITERS],
        status_code=HTTP_202_ACCEPTED,
        operation_class=DocumentOperation,
        responses={
            HTTP_200_OK: ResponseSpec(DocumentAccepted, description="unchanged: the same as the latest version"),
            **error_responses(409, 413, 415),
        },
    )
    async def create_document(
        self, request: Request[Principal, Any, Any], service: NamedDependency[IngestService], state: State
    ) -> Response[DocumentAccepted]:
        """Add a document or a new version of one (same `external_id`).

        JSON `{external_id, kind, title, content, content_type?, product?, competitor?, tags?, owner?, as_of?,
        expires_at?, review_interval_days?}`, or multipart/form-data with a `file` (markdown, text, HTML, PDF,
        DOCX) and the same fields (markdown front matter may supply them). 202 with a job id; 200 with status
        `unchanged` when the content is the same as the latest version. HTML, PDF and DOCX are parsed by the
        job: a file past a parse limit is a failed job whose `error` names the setting, not a 422.
        """
        limits = app_context(state).settings.ingest
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media == "application/json":
            raw = await _json_body(request, limits.max_body_bytes)
            if not isinstance(raw, dict):
                raise Unprocessable("the body must be a JSON object")
            try:
                doc = DocumentIn.model_validate(raw)
            except ValidationError as exc:
                raise Unprocessable("the document is invalid: see details", details=validation_details(exc)) from exc
            submission = await service.prepare(
                doc.model_dump(exclude={"content"}, exclude_unset=True), doc.content, filename=None
            )
        elif media == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Unprocessable("multipart requests need a 'file' part holding the document")
            data = await upload.read()
            if len(data) > limits.max_file_bytes:
                raise PayloadTooLarge(f"the file is {len(data)} bytes; the limit is {limits.max_file_bytes}")
            fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
            if "tags" in fields:
                fields["tags"] = [t.strip() for t in fields["tags"].split(",") if t.strip()]
            if not fields.get("content_type") and upload.content_type not in ("", "application/octet-stream"):
                fields["content_type"] = upload.content_type
            submission = await service.prepare(fields, data, filename=upload.filename)
        else:
            raise UnsupportedMediaType("send application/json or multipart/form-data with a 'file' part")
        _, results = await service.submit(request.user, [submission])
        status = HTTP_202_ACCEPTED if results[0].status == "queued" else HTTP_200_OK
        return Response(results[0], status_code=status)

    @post(
        "/documents/batch",
        guards=[WRITERS],
        status_code=HTTP_202_ACCEPTED,
        operation_class=BatchOperation,
        responses={
            HTTP_200_OK: ResponseSpec(BatchAccepted, description="every document unchanged; job_id is null"),
            **error_responses(409, 413, 415),
        },
    )
    async def create_batch(
        self, request: Request[Principal, Any, Any], service: NamedDependency[IngestService], state: State
    ) -> Response[BatchAccepted]:
        """Many documents, one job. Unchanged ones are reported as such; 200 when nothing changed."""
        limits = app_context(state).settings.ingest
        raw = await _json_body(request, limits.max_body_bytes)
        try:
            batch = BatchIn.model_validate(raw)
        except ValidationError as exc:
            raise Unprocessable("the batch is invalid: see details", details=validation_details(exc)) from exc
        # Markdown and text members are read in threads (HTML is kept for the job to parse); the first refusal
        # wins and cancels the rest (a TaskGroup: nothing keeps running after the 4xx).
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        service.prepare(d.model_dump(exclude={"content"}, exclude_unset=True), d.content, filename=None)
                    )
                    for d in batch.documents
                ]
        except* AppError as refused:
            raise refused.exceptions[0] from None
        submissions = [t.result() for t in tasks]
        job_id, results = await service.submit(request.user, submissions)
        return Response(
            BatchAccepted(job_id=job_id, documents=results),
            status_code=HTTP_202_ACCEPTED if job_id else HTTP_200_OK,
        )

    @get("/jobs/{job_id:str}")
    async def get_job(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        job_id: FromPath[str],
    ) -> JobOut:
        """Status and progress (chunks embedded of total) of an ingest job."""
        return await service.get_job(request.user, job_id)

    @get("/documents")
    async def list_documents(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        kind: FromQuery[DocumentKind | None] = None,
        competitor: FromQuery[str | None] = None,
        stale: Annotated[bool | None, QueryParameter(description="true: past review date or expired")] = None,
        q: Annotated[str | None, QueryParameter(max_length=200, description="matches title or external_id")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
    ) -> DocumentPage:
        """Documents of your organisation, by external_id."""
        items, total = await service.list_documents(
            request.user,
            kind=kind.value if kind else None,
            competitor=competitor,
            stale=stale,
            q=q,
            limit=limit,
            offset=offset,
        )
        return DocumentPage(items=items, total=total, limit=limit, offset=offset)

    @get("/documents/{document_id:str}")
    async def get_document(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        document_id: FromPath[str],
    ) -> DocumentOut:
        return await service.get_document(request.user, document_id)

    @get("/documents/{document_id:str}/versions", responses=error_responses(404))
    async def list_versions(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        document_id: FromPath[str],
    ) -> VersionList:
        """Every version of the document, newest first: status (`current` marks the one searches return),
        content hash, chunk count once indexed, who posted it and its job."""
        return await service.list_versions(request.user, document_id)

    @get("/documents/{document_id:str}/versions/{version:int}", responses=error_responses(404))
    async def get_version(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        document_id: FromPath[str],
        version: Annotated[int, Parameter(ge=1, le=2_147_483_647)],
    ) -> VersionDetail:
        """One version with the text stored for it (the parsed upload; markdown for markdown)."""
        return await service.get_version(request.user, document_id, version)

    @get("/documents/{document_id:str}/chunks", responses=error_responses(404))
    async def list_chunks(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        document_id: FromPath[str],
    ) -> ChunkList:
        """The current version's chunks as the vector store holds them (section and text), in document order;
        empty with `version: null` before the first version is indexed."""
        return await service.list_chunks(request.user, document_id)

    @delete("/documents/{document_id:str}", guards=[WRITERS], status_code=HTTP_204_NO_CONTENT)
    async def delete_document(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        document_id: FromPath[str],
    ) -> None:
        """Remove the document, every version and every chunk."""
        await service.delete(request.user, document_id)

    @post("/documents/{document_id:str}/verify", guards=[WRITERS], status_code=HTTP_200_OK)
    async def verify_document(
        self,
        request: Request[Principal, Any, Any],
        service: NamedDependency[IngestService],
        document_id: FromPath[str],
        data: JSONBody[VerifyIn | None] = None,
    ) -> DocumentOut:
        """Record that an engineer checked the material; the next review falls due after the interval."""
        return await service.verify(request.user, document_id, data.review_interval_days if data else None)


ROUTES = [IngestController]
