"""The Celery app a process configures is the one its tasks use, in every thread: a shared task's retry and
sends never fall back to Celery's default amqp://localhost broker (where they would vanish)."""

from __future__ import annotations

import threading
from pathlib import Path

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
