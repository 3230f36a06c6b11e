"""The `pitchcraft` command: serve, demo, ingest, token, worker, beat."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from services.core.settings import ConfigurationError, Mode, Settings

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_ORG = "demo"
# The demo's people: API id (sub), role, display name. The demo quiz is assigned to ada.
DEMO_PEOPLE = (
    ("ada", "rep", "Ada Rep"),
    ("sam", "engineer", "Sam Engineer"),
    ("mia", "manager", "Mia Manager"),
    ("root", "admin", "Root Admin"),
)
DEMO_QUIZ = "Lumora feature basics"
INGESTIBLE = {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".docx"}


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise SystemExit(f"configuration error: {exc}") from exc


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.main import SERVICES, create_app

    settings = _settings()
    services = args.service or list(SERVICES)
    if settings.mode is Mode.EMBEDDED and len(services) != len(SERVICES):
        raise SystemExit("embedded mode serves every service in one process; drop --service")
    app = create_app(settings, services=services)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix.lower() in INGESTIBLE and p.name.lower() != "readme.md")
            )
        elif path.is_file():
            found.append(path)
        else:
            raise SystemExit(f"no such file or folder: {raw}")
    return found


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "document"


def _fields_for(path: Path, kind: str | None) -> dict[str, Any]:
    """Defaults for files without front matter; front matter (markdown) overrides them."""
    return {
        "external_id": _slug(path.stem),
        "title": path.stem.replace("-", " ").replace("_", " ").strip(),
        "kind": kind or "other",
    }


def ingest_paths(settings: Settings, paths: list[str], *, org: str, sub: str, kind: str | None) -> dict[str, Any]:
    """Ingest files in this process, straight into the configured stores, and wait for the job."""
    from services.core.auth import Principal, Role
    from services.core.errors import AppError
    from services.core.migrate import upgrade
    from services.core.runtime import task_runtime
    from services.ingest.service import IngestService, to_submission
    from services.ingest.tasks import build_pipeline

    files = _files(paths)
    if not files:
        raise SystemExit("no ingestible files (markdown, text, HTML, PDF, DOCX) under the given paths")
    submissions, refused = [], []
    for path in files:
        try:
            submissions.append(
                to_submission(
                    {},
                    path.read_bytes(),
                    filename=path.name,
                    max_chars=settings.ingest.max_content_chars,
                    defaults=_fields_for(path, kind),
                )
            )
        except AppError as exc:  # every unreadable file named at once, nothing stored: fix them and run again
            details = exc.details if isinstance(exc.details, list) else []
            fields = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in details if isinstance(d, dict))
            refused.append(f"{path}: {exc.message}" + (f" ({fields})" if fields else ""))
        except OSError as exc:  # unreadable on disk (permissions, removed meanwhile)
            refused.append(f"{path}: cannot be read: {exc.strerror or exc}")
    if refused:
        raise SystemExit("nothing was ingested; fix these files and run again:\n" + "\n".join(refused))
    upgrade(settings.database_url)
    runtime = task_runtime(settings)
    principal = Principal(sub=sub, org=org, roles=frozenset({Role.ADMIN}))
    jobs: list[str] = []
    service = IngestService(runtime.sessions, runtime.store, settings.ingest, jobs.append)
    started = time.perf_counter()
    job_id, results = runtime.run(service.submit(principal, submissions))
    pipeline = build_pipeline(runtime)
    for job in jobs:
        runtime.run(pipeline.run_job(job))
    job_out = runtime.run(service.get_job(principal, job_id)) if job_id else None
    return {
        "files": len(files),
        "queued": sum(r.status == "queued" for r in results),
        "unchanged": sum(r.status == "unchanged" for r in results),
        "job": job_out.model_dump(mode="json", include={"job_id", "status", "progress", "reused_embeddings", "error"})
        if job_out
        else None,
        "seconds": round(time.perf_counter() - started, 1),
    }


def cmd_ingest(args: argparse.Namespace) -> int:
    from services.ingest.models import DocumentKind

    if args.kind and args.kind not in {k.value for k in DocumentKind}:
        raise SystemExit(f"--kind must be one of {[k.value for k in DocumentKind]}")
    settings = _settings()
    from services.core.logging import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    from services.core.vectorstore.edge import StoreInUse

    try:
        summary = ingest_paths(settings, args.paths, org=args.org, sub=args.sub, kind=args.kind)
    except StoreInUse as exc:
        raise SystemExit(f"pitchcraft ingest: {exc}") from None
    print(json.dumps(summary, indent=2))
    job = summary["job"]
    return 1 if job and job["status"] != "succeeded" else 0


def demo_quiz(settings: Settings) -> str:
    """A published quiz over the demo features, assigned to the demo rep (ada), once per data dir."""
    import contextlib
    from collections.abc import AsyncIterator
    from datetime import timedelta

    from services.core.auth import Principal, Role
    from services.core.db import utcnow
    from services.core.embeddings import EmbeddingCache, get_embedder
    from services.core.errors import Unprocessable
    from services.core.runtime import task_runtime
    from services.enablement.assignments import AssignmentService
    from services.enablement.pitch_client import PitchClient
    from services.enablement.schemas import AssignmentIn, GenerateSpec, QuizIn
    from services.enablement.service import QuizService

    runtime = task_runtime(settings)
    manager = Principal(sub="mia", org=DEMO_ORG, roles=frozenset({Role.MANAGER}))
    embeddings = EmbeddingCache(get_embedder)
    quizzes = QuizService(runtime.sessions, runtime.store, embeddings, settings.enablement)
    if any(q.title == DEMO_QUIZ for q in runtime.run(quizzes.list_quizzes(manager, None))):
        return f"Demo quiz '{DEMO_QUIZ}' already loaded."

    @contextlib.asynccontextmanager
    async def no_pitch() -> AsyncIterator[PitchClient]:  # feature items only: the server is not up yet
        raise Unprocessable("the demo quiz has no persona items")
        yield  # pragma: no cover

    spec = GenerateSpec(kind="feature", count=8)
    quiz = runtime.run(quizzes.create(manager, QuizIn(title=DEMO_QUIZ, generate=spec), no_pitch))
    runtime.run(quizzes.publish(manager, quiz.id))
    assignment = AssignmentIn(
        quiz_id=quiz.id, assignees=["ada"], due_at=utcnow() + timedelta(days=7), pass_mark=70, max_attempts=3
    )
    runtime.run(AssignmentService(runtime.sessions).assign(manager, assignment))
    return f"Demo quiz '{DEMO_QUIZ}' ({len(quiz.questions)} questions) published and assigned to ada (rep)."


def _print_demo_tokens(settings: Settings, url: str) -> None:
    from services.core.auth import issue_token

    print(f"\nSign in to the web app at {url} as any demo role:")
    for role, email, password in demo_users(settings):
        print(f"  {role:<9} {email:<32} password {password}")
    secret = settings.jwt_secret()
    print(f"\nDemo organisation '{DEMO_ORG}'. Tokens (valid {settings.auth.token_ttl_seconds // 3600} h):")
    for sub, role, _ in DEMO_PEOPLE:
        token = issue_token(secret, sub=sub, org=DEMO_ORG, roles=[role], ttl_seconds=settings.auth.token_ttl_seconds)
        print(f"  {role:<9} {token}")
    print()


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings.mode is not Mode.EMBEDDED:
        raise SystemExit("the demo runs in embedded mode (PITCHCRAFT_MODE=embedded)")
    from services.core.logging import configure_logging
    from services.core.vectorstore import close_stores

    configure_logging(settings.log_level, settings.log_json)
    print(f"Loading demo material from {DEMO_DIR} into {settings.data_dir} ...", flush=True)
    summary = ingest_paths(settings, [str(DEMO_DIR)], org=DEMO_ORG, sub="demo-loader", kind=None)
    print(json.dumps(summary, indent=2))
    print(demo_quiz(settings), flush=True)
    close_stores()  # the server reopens the shard
    _print_demo_tokens(settings, f"http://{args.host}:{args.port}/")
    if args.no_serve:
        return 0
    print(f"Serving on http://{args.host}:{args.port}  (OpenAPI: /schema)", flush=True)
    return cmd_serve(argparse.Namespace(host=args.host, port=args.port, service=None))


def cmd_token(args: argparse.Namespace) -> int:
    from services.core.auth import issue_token

    settings = _settings()
    roles = [r.strip() for raw in args.role for r in raw.split(",") if r.strip()]
    try:
        token = issue_token(
            settings.jwt_secret(),
            sub=args.sub,
            org=args.org,
            roles=roles,
            ttl_seconds=args.ttl or settings.auth.token_ttl_seconds,
        )
    except ValueError as exc:
        raise SystemExit(f"cannot issue a token: {exc}") from exc
    print(token)
    return 0


def _accounts(settings: Settings) -> tuple[Any, Any]:
    from services.core.migrate import upgrade
    from services.core.runtime import task_runtime
    from services.web.accounts import Accounts

    upgrade(settings.database_url)
    runtime = task_runtime(settings)
    return runtime, Accounts(runtime.sessions, settings.web)


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass
    import secrets

    from services.core.errors import AppError

    settings = _settings()
    password = os.environ.get("PITCHCRAFT_USER_PASSWORD", "")
    generated = False
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not password and sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.email} (empty: generate one): ")
    if not password:
        password, generated = secrets.token_urlsafe(12), True
    runtime, accounts = _accounts(settings)
    roles = [r.strip() for raw in args.role for r in raw.split(",") if r.strip()]
    try:
        account = runtime.run(
            accounts.add_user(
                org=args.org, email=args.email, roles=roles, password=password, name=args.name, sub=args.sub
            )
        )
    except AppError as exc:
        raise SystemExit(f"cannot add the user: {exc.message}") from exc
    print(f"user {account.email} (id {account.sub}) in org {account.org} with roles {', '.join(account.roles)}")
    if generated:
        print(f"password: {password}")
    return 0


def demo_users(settings: Settings) -> list[tuple[str, str, str]]:
    """One sign-in per demo role, with a password generated once per data dir (kept beside the JWT secret)."""
    import contextlib
    import secrets

    from services.core.errors import Conflict

    path = settings.data_dir / ".demo-passwords.json"
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    runtime, accounts = _accounts(settings)
    out = []
    for sub, role, name in DEMO_PEOPLE:
        email = f"{sub}@{DEMO_ORG}.pitchcraft.test"
        password = saved.setdefault(email, secrets.token_urlsafe(9))
        with contextlib.suppress(Conflict):  # loaded on an earlier run, with the password kept in the file
            runtime.run(
                accounts.add_user(org=DEMO_ORG, email=email, roles=[role], password=password, name=name, sub=sub)
            )
        out.append((role, email, password))
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return out


def cmd_worker(args: argparse.Namespace) -> int:
    from services.core.celery_app import QUEUES, create_celery
    from services.core.logging import configure_logging
    from services.core.migrate import upgrade

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    upgrade(settings.database_url)
    app = create_celery(settings)
    queues = args.queues or ",".join(QUEUES)
    # Embedded stores admit one process: a worker on them must be the only opener, so no forking pool.
    pool = "solo" if settings.mode is Mode.EMBEDDED else args.pool
    argv = [
        "worker",
        "-Q",
        queues,
        "--pool",
        pool,
        "--concurrency",
        str(args.concurrency),
        "--loglevel",
        "INFO",
    ]
    argv += ["--without-gossip", "--without-mingle", "-n", args.name]
    if args.beat:
        argv.append("--beat")
    app.worker_main(argv)
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    from services.core.celery_app import create_celery

    app = create_celery(_settings())
    app.start(["beat", "--loglevel", "INFO", "--schedule", str(Path(args.schedule))])
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from services.core.logging import configure_logging
    from services.pitch.evaluation import report, run

    configure_logging("WARNING", False)
    for raw in args.dirs:
        directory = Path(raw)
        result = run(directory, Path(args.run) if args.run and len(args.dirs) == 1 else None)
        print(json.dumps(result, indent=2) if args.json else report(directory, result), flush=True)
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitchcraft", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the APIs (embedded: all three on one port)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--service",
        action="append",
        choices=["ingest", "pitch", "enablement", "web"],
        help="distributed mode: serve only this service (repeatable)",
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="load the demo material, print tokens, then serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="load and exit")
    demo.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="ingest files or folders (markdown with front matter, txt, html, pdf, docx)")
    ingest.add_argument("paths", nargs="+")
    ingest.add_argument("--org", default=DEMO_ORG)
    ingest.add_argument("--sub", default="cli")
    ingest.add_argument("--kind", help="kind for files whose front matter names none (default: other)")
    ingest.set_defaults(func=cmd_ingest)

    token = sub.add_parser("token", help="print a JWT on the last line of stdout")
    token.add_argument("--sub", required=True)
    token.add_argument("--org", required=True)
    token.add_argument("--role", action="append", required=True, help="rep, engineer, manager or admin (repeatable)")
    token.add_argument("--ttl", type=int, help="seconds (default PITCHCRAFT_TOKEN_TTL_SECONDS)")
    token.set_defaults(func=cmd_token)

    user = sub.add_parser("user", help="web app users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser(
        "add",
        help="create a user who signs in to the web app; password from PITCHCRAFT_USER_PASSWORD, --password-stdin, "
        "a prompt, or generated and printed",
    )
    add.add_argument("email")
    add.add_argument("--org", required=True)
    add.add_argument("--role", action="append", required=True, help="rep, engineer, manager or admin (repeatable)")
    add.add_argument("--name", help="display name (default: the part of the email before @)")
    add.add_argument("--sub", help="the API user id assignments and deals use (default: the email)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(func=cmd_user_add)

    worker = sub.add_parser("worker", help="a Celery worker (distributed mode)")
    worker.add_argument("--queues", help="comma-separated (default: ingest,enablement)")
    worker.add_argument("--concurrency", type=int, default=1)
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.add_argument("--name", default="worker@%h")
    worker.add_argument("--beat", action="store_true", help="also run the periodic schedule in this worker")
    worker.set_defaults(func=cmd_worker)

    evaluate = sub.add_parser(
        "eval",
        help="measure talk tracks on a labelled set: DIR/corpus (markdown with front matter) and DIR/cases.jsonl",
    )
    evaluate.add_argument("dirs", nargs="+", metavar="DIR")
    evaluate.add_argument("--run", help="write the pipeline's run (one JSON line a case) to this file")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(func=cmd_eval)

    beat = sub.add_parser("beat", help="the periodic schedule (stranded-job sweep), one per deployment")
    beat.add_argument("--schedule", default="/tmp/pitchcraft-beat-schedule")  # noqa: S108
    beat.set_defaults(func=cmd_beat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
