"""The Celery app a process configures is the one its tasks use, in every thread: a shared task's retry and
sends never fall back to Celery's default amqp://localhost broker (where they would vanish); and a database
connection dropped under a job is a fault to wait out, not a reason to fail the job."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from celery import current_app

from services.core.celery_app import create_celery
from services.ingest.tasks import process_job
from tests.conftest import settings_for_tests


def test_every_thread_sees_the_configured_app(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:6379/15"
    app = create_celery(settings_for_tests(tmp_path, REDIS_URL=url))
    seen: dict[str, object] = {}

    def worker_thread() -> None:  # as an embedded worker thread runs a task
        seen["current"] = current_app._get_current_object()
        seen["task_app"] = process_job.app
        seen["broker"] = process_job.app.conf.broker_url

    thread = threading.Thread(target=worker_thread)
    thread.start()
    thread.join()
    assert seen["current"] is app and seen["task_app"] is app
    assert seen["broker"] == url


def test_a_connection_dropped_mid_job_is_transient_but_a_bad_statement_is_not() -> None:
    from asyncpg.exceptions import ConnectionDoesNotExistError, UniqueViolationError
    from sqlalchemy.exc import DBAPIError

    from services.ingest.tasks import _transient

    dropped = DBAPIError("SELECT 1", {}, ConnectionDoesNotExistError("connection was closed mid-operation"))
    refused = DBAPIError("SELECT 1", {}, OSError(111, "Connection refused"))
    duplicate = DBAPIError("INSERT ...", {}, UniqueViolationError("duplicate key value"))
    assert _transient(dropped) and _transient(refused)
    assert not _transient(duplicate)


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_stop_that_races_the_consumer_read_does_not_escape_the_stopping_thread() -> None:
    """Closing the broker channel can race the consumer thread's own read (kombu raised "I/O operation on closed
    file" in the stopping thread during make test): the stop is logged and still completes. The worker is the
    dependency replaced here; EmbeddedWorker.stop is the caller."""
    from celery import Celery

    from services.core.celery_app import EmbeddedWorker

    class Racing:
        def stop(self, **_: object) -> None:
            raise ValueError("I/O operation on closed file.")

    worker = EmbeddedWorker(Celery("t", broker="memory://"))
    worker._worker = Racing()  # type: ignore[assignment]
    assert worker.stop(timeout=1) is True
