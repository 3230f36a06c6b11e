"""Configuration, one pydantic-settings class per concern, all read from the environment.

Mode is chosen explicitly (`PITCHCRAFT_MODE`), never inferred from a missing variable.
Secrets fail closed: outside development the JWT secret must be set.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """The process cannot start with this configuration; the message says what to set."""


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    jwt_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices("PITCHCRAFT_JWT_SECRET"))
    token_ttl_seconds: int = Field(
        default=12 * 3600, ge=60, validation_alias=AliasChoices("PITCHCRAFT_TOKEN_TTL_SECONDS")
    )


class StoreSettings(BaseSettings):
    """Where state lives. Unset URLs mean the embedded stores under the data dir."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    qdrant_url: str | None = Field(default=None, validation_alias=AliasChoices("QDRANT_URL"))
    qdrant_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("QDRANT_API_KEY"))
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL"))
    collection: str = Field(default="chunks", validation_alias=AliasChoices("PITCHCRAFT_COLLECTION"))


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="PITCHCRAFT_")

    # 200 of the model's 256 word pieces: all-MiniLM-L6-v2 silently truncates past 256 and was tuned at 128;
    # the heading prefix and special tokens take the rest.
    chunk_tokens: int = Field(default=200, ge=32, le=254)
    chunk_overlap_tokens: int = Field(default=32, ge=0, le=128)
    embed_batch_size: int = Field(default=32, ge=1, le=512)
    # Embed every sentence of a chunk on its own too (sentence-level evidence for talk tracks: README, "How talk
    # tracks pick features"); about 1.8x the model's work per document. Off: chunk vectors only.
    sentence_vectors: bool = True
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_content_chars: int = Field(default=1_000_000, ge=100)
    max_batch_documents: int = Field(default=200, ge=1)
    default_review_interval_days: int = Field(default=180, ge=1)
    # A job untouched this long while queued or running is presumed stranded and is re-queued.
    stale_job_seconds: int = Field(default=600, ge=5)
    sweep_interval_seconds: int = Field(default=60, ge=1)
    # A running job whose progress has not moved this long may be taken over by another delivery of its
    # task (its worker is presumed dead); progress moves every embedding group (~256 chunks, ~6-8 s here).
    job_lease_seconds: int = Field(default=120, ge=1)
    # Deliveries of one job before it is failed: a job that keeps killing its worker must not loop forever.
    max_job_attempts: int = Field(default=5, ge=1)
    # Untrusted HTML, PDF and DOCX are parsed in a child process (services/ingest/sandbox.py) under a
    # wall-clock limit and an address-space limit (RLIMIT_AS), at most `parse_concurrency` at a time per process.
    # 30 s and 1 GiB: files just under every cap parse in under 5 s here (99,000 HTML elements: 3.9 s); the
    # child itself, parsers imported, takes about 45 MiB of address space.
    parse_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    parse_memory_bytes: int = Field(default=1024 * 1024 * 1024, ge=128 * 1024 * 1024)
    parse_concurrency: int = Field(default=2, ge=1, le=64)
    # Counted as the parts are inflated, never taken from the zip's directory (which an upload can fake).
    max_docx_unpacked_bytes: int = Field(default=100 * 1024 * 1024, ge=64 * 1024)
    # Every w:p counts, empty ones too (a 335 KB DOCX can hold 3.4 million empty paragraphs).
    max_docx_paragraphs: int = Field(default=100_000, ge=1)
    max_pdf_pages: int = Field(default=500, ge=1)
    # As the HTML parser nests them (unclosed tags nest too); deep trees make extraction quadratic.
    max_html_depth: int = Field(default=256, ge=4)
    max_html_elements: int = Field(default=100_000, ge=1)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IngestSettings:
        if self.chunk_overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError("PITCHCRAFT_CHUNK_OVERLAP_TOKENS must be under half of PITCHCRAFT_CHUNK_TOKENS")
        return self


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="PITCHCRAFT_")

    # Must exceed the longest task (a large batch job embeds at ~30 chunks/s on 2 cores), or Redis
    # hands a second copy of a running task to another worker.
    visibility_timeout_seconds: int = Field(default=3600, ge=5)
    # How often a worker checks for unacknowledged messages older than the visibility timeout (those of a
    # dead worker) to put back; the stranded-job sweep usually re-sends such a job sooner.
    unacked_restore_seconds: int = Field(default=30, ge=1)
    # Prefix of every broker key, so deployments (or test runs) can share one Redis without sharing queues.
    queue_prefix: str = Field(default="", max_length=64)
    embedded_worker_threads: int = Field(default=1, ge=1, le=8)
    task_max_retries: int = Field(default=5, ge=0)


class EnablementSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="PITCHCRAFT_")

    # Where the pitch API answers (persona-lead items are keyed from its own selection). Unset: this app's
    # own pitch routes when it serves them (embedded mode), else generation of those items is refused.
    pitch_url: str | None = None
    # Reminders: "due soon" this many hours before the due date; the sweep runs this often.
    due_soon_hours: int = Field(default=24, ge=1, le=24 * 14)
    reminder_interval_seconds: int = Field(default=300, ge=1)
    # Each reminder is POSTed here as JSON when set (at-least-once; the outbox id is the idempotency key).
    reminder_webhook_url: str | None = None
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_questions: int = Field(default=50, ge=1, le=200)


class NoteSettings(BaseSettings):
    """The meeting-note analyser."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="PITCHCRAFT_NOTE_")

    # Objections, pains and goals the cue rules miss, found by the labelled sentences nearest a note's sentence
    # (README "Deals").
    exemplars: bool = True
    # Labelled sets left out of the exemplars (comma-separated names), so a set can be measured without its own
    # sentences among them (evals/run_notes_eval.py does this).
    exemplars_exclude: str = ""


class WebSettings(BaseSettings):
    """The web app's sign-in: sessions, rate limit, and where it reaches the APIs in distributed mode."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="PITCHCRAFT_WEB_")

    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Wrong passwords for one email within the window before sign-in is refused (429) until the window passes.
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    failed_login_window_seconds: int = Field(default=15 * 60, ge=10)
    # Distributed mode: the router (or any URL serving /ingest, /pitch, /enablement). Embedded mode calls the
    # app's own routes in process.
    api_url: str | None = None
    # Short-lived bearer tokens the pages mint for their own API calls.
    api_token_seconds: int = Field(default=300, ge=30, le=3600)


class Settings(BaseSettings):
    """All configuration. Build once per process (`Settings()`), pass it into `create_app`."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mode: Mode = Field(default=Mode.EMBEDDED, validation_alias=AliasChoices("PITCHCRAFT_MODE"))
    environment: Environment = Field(default=Environment.DEVELOPMENT, validation_alias=AliasChoices("PITCHCRAFT_ENV"))
    data_dir: Path = Field(default=Path("data"), validation_alias=AliasChoices("PITCHCRAFT_DATA_DIR"))
    debug: bool = Field(default=False, validation_alias=AliasChoices("PITCHCRAFT_DEBUG"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("PITCHCRAFT_LOG_LEVEL"))
    log_json: bool | None = Field(default=None, validation_alias=AliasChoices("PITCHCRAFT_LOG_JSON"))

    auth: AuthSettings = Field(default_factory=AuthSettings)
    stores: StoreSettings = Field(default_factory=StoreSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    enablement: EnablementSettings = Field(default_factory=EnablementSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    notes: NoteSettings = Field(default_factory=NoteSettings)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.debug and self.environment is not Environment.DEVELOPMENT:
            raise ValueError("PITCHCRAFT_DEBUG puts tracebacks in responses; it is allowed only in development")
        if self.mode is Mode.DISTRIBUTED:
            missing = [
                name
                for name, value in (
                    ("QDRANT_URL", self.stores.qdrant_url),
                    ("DATABASE_URL", self.stores.database_url),
                    ("REDIS_URL", self.stores.redis_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"distributed mode needs {', '.join(missing)}")
        return self

    @cached_property
    def database_url(self) -> str:
        if self.stores.database_url:
            return _async_db_url(self.stores.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pitchcraft.db').resolve()}"

    @property
    def edge_path(self) -> Path:
        return self.data_dir / "qdrant-edge"

    def jwt_secret(self) -> str:
        """The HS256 secret. Development without one uses a random secret kept in the data dir, so
        `serve` and `token` on the same data dir agree; production without one refuses to start."""
        if self.auth.jwt_secret is not None:
            value = self.auth.jwt_secret.get_secret_value()
            if len(value) < 32 and self.environment is Environment.PRODUCTION:
                raise ConfigurationError("PITCHCRAFT_JWT_SECRET must be at least 32 characters in production")
            return value
        if self.environment is not Environment.DEVELOPMENT:
            raise ConfigurationError(
                "PITCHCRAFT_JWT_SECRET is not set; it is required when PITCHCRAFT_ENV is not development"
            )
        path = self.data_dir / ".jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def _async_db_url(url: str) -> str:
    """Accept the usual sync spellings and pick the async driver."""
    for prefix, replacement in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    return url
