"""Pages: the rep's talk track. Pick a persona, describe the deal, get a cited track; open any citation's
passage; copy or download the track as markdown; ask again from the list of recent tracks.

Every role may use it, like the pitch API it calls (as the signed-in user): POST /pitch/v1/talk-tracks (JSON for
the page, `Accept: text/markdown` for the copy and the download), GET /pitch/v1/personas, GET /pitch/v1/talk-tracks
(the caller's recent requests) and GET /pitch/v1/passages/{chunk_id} (a cited passage).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK

from services.core.errors import NotFound
from services.web.accounts import Account
from services.web.api import Api, ApiError
from services.web.session import page

TALK_TRACKS = "/pitch/v1/talk-tracks"
SEGMENTS = (("", "Not sure"), ("smb", "SMB"), ("mid_market", "Mid-market"), ("enterprise", "Enterprise"))
RECENT = 10
# Characters of a recent request's context shown in the list (the link refills the whole context).
SNIPPET = 110
# The form's own failures are shown on the form; anything else (403, 503, ...) is the error page.
FORM_ERRORS = (400, 404, 409, 413, 422)
# The API's field names as the form labels them (its messages name fields by key).
LABELS = {
    "persona": "Buyer persona",
    "context": "Deal context",
    "competitor": "Competitor",
    "segment": "Segment",
    "max_features": "Features, at most",
    "persona_brief": "Buyer description",
    "stakeholder": "Stakeholder",
    "deal_id": "Deal",
}
# Citations give chunk ids as uuids; anything else never reaches the API's path.
CHUNK_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True, slots=True)
class TrackForm:
    """What the rep typed, kept as text so the form shows it again as it was; the API validates it."""

    persona: str = ""
    context: str = ""
    competitor: str = ""
    segment: str = ""
    max_features: str = "4"
    persona_brief: str = ""
    # A deal's track (from the deal page): the deal gives the context, segment and competitor; the buyer is a
    # persona or one of the deal's stakeholders.
    deal_id: str = ""
    stakeholder: str = ""

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> TrackForm:
        def text(name: str, default: str = "") -> str:
            value = values.get(name)
            return value.strip() if isinstance(value, str) else default

        return cls(
            persona=text("persona"),
            context=text("context"),
            competitor=text("competitor"),
            segment=text("segment"),
            max_features=text("max_features") or "4",
            persona_brief=text("persona_brief"),
            deal_id=text("deal_id"),
            stakeholder=text("stakeholder"),
        )

    def body(self) -> dict[str, Any]:
        """The talk-track request: empty fields left out (the API's defaults apply)."""
        body: dict[str, Any] = {"persona": self.persona or None}
        for name in ("context", "competitor", "segment", "persona_brief", "deal_id", "stakeholder"):
            if value := getattr(self, name):
                body[name] = value
        # A number when it is one; otherwise as typed, so the API names what is wrong with it.
        body["max_features"] = int(self.max_features) if self.max_features.isdigit() else self.max_features
        return body

    def query(self) -> str:
        """The same request as query parameters (the download and the "ask again" links)."""
        return urlencode({k: v for k, v in asdict(self).items() if v and not (k == "max_features" and v == "4")})


def _field_errors(error: ApiError) -> tuple[list[str], set[str]]:
    """The API's per-field messages under the form's labels, and which fields they name."""
    lines, fields = [], set()
    for line in error.field_messages():
        key, sep, message = line.partition(": ")
        name = key.split(".")[-1]
        if sep and name in LABELS:
            fields.add(name)
            line = f"{LABELS[name]}: {message}"
        lines.append(line)
    return lines, fields


def _when(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%d %b %Y, %H:%M UTC")
    except ValueError:
        return stamp


def _date(stamp: str | None) -> str:
    return (stamp or "")[:10] or "no date given"


def _recent(rows: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        context = " ".join((row.get("context") or "").split())
        again = TrackForm(
            persona=row["persona"],
            context=row.get("context") or "",
            competitor=row.get("competitor") or "",
            segment=row.get("segment") or "",
            deal_id=row.get("deal_id") or "",
        )
        out.append(
            {
                **row,
                "persona_name": names.get(row["persona"], row["persona"]),
                "snippet": context if len(context) <= SNIPPET else context[: SNIPPET - 1].rstrip() + "…",
                "segment_label": dict(SEGMENTS).get(row["segment"], "") if row.get("segment") else "",
                "when": _when(row["created_at"]),
                "href": "/tracks?" + again.query(),
            }
        )
    return out


def _sources(track: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Citations numbered in reading order (one number per passage) and the list of sources behind them."""
    points: list[dict[str, Any]] = []
    for feature in track.get("features", []):
        points += feature.get("points", [])
        points += [feature["proof"]] if feature.get("proof") else []
        points += feature.get("be_ready_for", [])
    competitor = track.get("competitor") or {}
    points += competitor.get("where_we_win", [])
    points += [o["response"] for o in competitor.get("objections", [])]
    points += competitor.get("where_they_are_stronger", [])
    deal = track.get("deal") or {}
    points += [o["response"] for o in deal.get("objections", []) if o.get("response")]
    numbers: dict[str, int] = {}
    sources: list[dict[str, Any]] = []
    for point in points:
        citation = point["citation"]
        if citation["chunk_id"] not in numbers:
            numbers[citation["chunk_id"]] = len(numbers) + 1
            sources.append({**citation, "number": numbers[citation["chunk_id"]], "date": _date(citation["as_of"])})
    return numbers, sources


async def _competitors(api: Api) -> list[str]:
    """Competitor names the library has battlecards for: suggestions for the competitor field."""
    found = await api.get("/ingest/v1/documents", {"kind": "competitor", "limit": 200})
    return sorted({d["competitor"] for d in found.get("items", []) if d.get("competitor")}, key=str.casefold)


async def _deal(api: Api, deal_id: str) -> dict[str, Any] | None:
    """The deal a track is for, read as the user (another rep's or org's deal: the API's 404 page)."""
    if not deal_id:
        return None
    if not CHUNK_ID.fullmatch(deal_id):
        raise NotFound("no such deal: deal pages link to their track by the deal's id")
    deal: dict[str, Any] = await api.get(f"/pitch/v1/deals/{deal_id}")
    return deal


async def _render(
    api: Api,
    user: Account,
    form: TrackForm,
    *,
    track: dict[str, Any] | None = None,
    markdown: str = "",
    error: ApiError | None = None,
) -> Template:
    personas, history, competitors, deal = await asyncio.gather(
        api.get("/pitch/v1/personas"),
        api.get(TALK_TRACKS, {"limit": RECENT}),
        _competitors(api),
        _deal(api, form.deal_id),
    )
    names = {p["id"]: p["name"] for p in personas}
    recent = _recent(history, names)
    numbers, sources = _sources(track) if track else ({}, [])
    field_errors, invalid = _field_errors(error) if error else ([], set())
    return page(
        "tracks/page.html",
        user,
        title="Talk track",
        status_code=error.status if error else HTTP_200_OK,
        form=form,
        built_in=[p for p in personas if p.get("built_in")],
        custom=[p for p in personas if not p.get("built_in")],
        segments=SEGMENTS,
        competitors=competitors,
        recent=recent,
        track=track,
        persona_name=names.get(track["persona"], track["persona"]) if track else "",
        markdown=markdown,
        numbers=numbers,
        sources=sources,
        download=f"/tracks/download?{form.query()}",
        deal=deal,
        error=error.message if error else None,
        field_errors=field_errors,
        invalid=invalid,
    )


@get("/tracks", name="tracks")
async def tracks_page(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
) -> Template:
    """The form (filled from the query: the recent list's "ask again" links, a deal page's track link) and the
    recent tracks."""
    form = TrackForm.read(request.query_params)  # the form's fields, by the same names
    return await _render(api, user, form)


@post("/tracks", status_code=HTTP_200_OK)
async def ask_for_track(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
) -> Template:
    """The track for the form's request, under the form (the same page: htmx swaps it in place, a plain post
    reloads it). A request the API refuses shows the API's message on the form, with its status."""
    form = TrackForm.read(await request.form())
    try:
        track = await api.post(TALK_TRACKS, json=form.body())
        answer = await api.request("POST", TALK_TRACKS, json=form.body(), headers={"Accept": "text/markdown"})
    except ApiError as exc:
        if exc.status not in FORM_ERRORS:
            raise
        return await _render(api, user, form, error=exc)
    return await _render(api, user, form, track=track, markdown=answer.text)


@get("/tracks/download")
async def download_track(
    request: Request[Any, Any, Any], user: NamedDependency[Account], api: NamedDependency[Api]
) -> Response[bytes]:
    """The track for the request in the query, as a markdown file (the request is asked again)."""
    form = TrackForm.read(request.query_params)  # the form's fields, by the same names
    answer = await api.request("POST", TALK_TRACKS, json=form.body(), headers={"Accept": "text/markdown"})
    name = re.sub(r"[^a-z0-9_-]+", "-", (form.persona or form.stakeholder).lower()).strip("-") or "track"
    return Response(
        content=answer.content,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="talk-track-{name}.md"'},
    )


def _marked(text: str, quote: str) -> list[tuple[str, bool]]:
    """The passage in parts, the quoted sentence marked: only text of the passage itself is ever shown, so a
    quote that is not in it marks nothing."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return [(text, False)]
    return [(text[:at], False), (quote, True), (text[at + len(quote) :], False)]


@get("/tracks/passages/{chunk_id:str}")
async def passage_page(
    request: Request[Any, Any, Any],
    user: NamedDependency[Account],
    api: NamedDependency[Api],
    chunk_id: FromPath[str],
    quote: FromQuery[str] = "",
) -> Template:
    """A cited passage with its document's title, section, version and as-of date, the cited sentence (`quote`)
    marked: a whole page, or for htmx (the citation dialog) just the passage, or the API's message when it is
    gone."""
    partial = bool(request.headers.get("hx-request"))
    if not CHUNK_ID.fullmatch(chunk_id):
        raise NotFound("no such passage: citations link to their passages by id")
    try:
        passage = await api.get(f"/pitch/v1/passages/{chunk_id}")
    except ApiError as exc:
        if not partial or exc.status != 404:
            raise
        return page("tracks/_passage.html", user, title="Not found", status_code=404, passage=None, error=exc.message)
    passage["date"] = _date(passage.get("as_of"))
    passage["parts"] = _marked(passage["text"], quote.strip())
    template = "tracks/_passage.html" if partial else "tracks/passage.html"
    return page(template, user, title=passage["title"] or "Cited passage", passage=passage, error=None)


ROUTES: list[object] = [tracks_page, ask_for_track, download_track, passage_page]
