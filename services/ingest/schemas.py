"""Request and response models of the ingest API (DESIGN section 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.ingest.models import DocumentKind

ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
        description="the client's stable key: letters, digits and . _ : / -; posting it again is an update",
    ),
]
Slug = Annotated[str, Field(min_length=1, max_length=120)]


def _aware(value: Any) -> Any:
    """Dates become midnight UTC; naive datetimes are read as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    return value


# Dates outside this range are refused (422): a review date of year 9999 plus an interval overflows Python's
# datetime, and no material is true before 1970 or after 2199.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _sane(value: datetime | None) -> datetime | None:
    """Aware (a naive value, e.g. a multipart form field, is read as UTC) and within EARLIEST..LATEST."""
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970-01-01 and 2199-12-31")
    return value


class DocumentMeta(BaseModel):
    """Everything about a document except its content. Markdown front matter may supply these fields;
    fields in the request win over front matter."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: ExternalId
    kind: DocumentKind
    title: str = Field(min_length=1, max_length=300)
    product: Slug | None = None
    competitor: Slug | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=50)
    owner: str | None = Field(default=None, max_length=200)
    as_of: datetime | None = Field(default=None, description="when the material was last true; defaults to now")
    expires_at: datetime | None = Field(default=None, description="after this the material is never used")
    review_interval_days: int | None = Field(default=None, ge=1, le=3650)

    _aware_dates = field_validator("as_of", "expires_at", mode="before")(_aware)
    _sane_dates = field_validator("as_of", "expires_at", mode="after")(_sane)

    @field_validator("tags")
    @classmethod
    def _dedupe_tags(cls, tags: list[str]) -> list[str]:
        return sorted({t.lower() for t in tags})

    @field_validator("competitor", "product")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


META_FIELDS = frozenset(DocumentMeta.model_fields)


class DocumentIn(DocumentMeta):
    content: str = Field(min_length=1, description="the document text (markdown unless content_type says otherwise)")
    content_type: str | None = Field(
        default=None, description="markdown (default), text, html, or a MIME type such as text/html"
    )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Hard ceiling before parsing; PITCHCRAFT_MAX_BATCH_DOCUMENTS (default 200) is the configured limit.
    documents: list[DocumentIn] = Field(min_length=1, max_length=1000)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review_interval_days: int | None = Field(default=None, ge=1, le=3650)


SubmissionStatus = Literal["queued", "unchanged"]


class DocumentAccepted(BaseModel):
    document_id: str
    external_id: str
    job_id: str | None
    version: int
    status: SubmissionStatus = Field(description="queued: a new version is being indexed; unchanged: a no-op")


class BatchAccepted(BaseModel):
    job_id: str | None
    documents: list[DocumentAccepted]


class Progress(BaseModel):
    done: int
    total: int


class JobOut(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: Progress
    reused_embeddings: int = Field(description="chunks whose stored embedding was reused instead of re-embedded")
    error: str | None = None
    documents: list[dict[str, Any]]
    attempts: int
    created_at: datetime
    finished_at: datetime | None = None


class DocumentOut(BaseModel):
    document_id: str
    external_id: str
    kind: str
    title: str
    product: str | None
    competitor: str | None
    tags: list[str]
    owner: str | None
    as_of: datetime | None
    expires_at: datetime | None
    review_interval_days: int
    verified_at: datetime | None
    verified_by: str | None
    review_due_at: datetime
    stale: bool
    stale_reasons: list[str]
    current_version: int | None
    latest_version: int
    chunk_count: int | None = None
    created_at: datetime
    updated_at: datetime


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


class VersionOut(BaseModel):
    version: int
    status: Literal["pending", "indexed", "failed", "superseded"]
    current: bool = Field(description="the version searches return (the document's current_version)")
    title: str | None = Field(description="the title this version was posted with")
    content_hash: str | None = Field(description="sha256 of the parsed text; equal hashes mean equal text")
    content_type: str = Field(description="the format the text was parsed from: markdown, text, html, pdf, docx")
    filename: str | None
    chunk_count: int | None = Field(description="chunks indexed; null until the version is indexed")
    reused_embeddings: int | None
    error: str | None = Field(description="why indexing failed, for a failed version")
    created_at: datetime
    created_by: str | None = Field(description="who posted it (the sub of its ingest job); null if unknown")
    job_id: str | None = Field(description="the ingest job that indexed (or is indexing) this version")
    indexed_at: datetime | None


class VersionDetail(VersionOut):
    content: str = Field(description="the stored text, as parsed from the upload (markdown for markdown uploads)")


class VersionList(BaseModel):
    document_id: str
    current_version: int | None
    items: list[VersionOut] = Field(description="newest first")


class ChunkOut(BaseModel):
    point_id: str
    ordinal: int
    section: str | None
    text: str
    verified: bool | None = None


class ChunkList(BaseModel):
    document_id: str
    version: int | None = Field(description="the current version the chunks belong to; null before the first index")
    items: list[ChunkOut] = Field(description="in document order (ordinal)")
