"""Celery tasks of the enablement service, on the `enablement` queue. They take ids and are idempotent."""

from __future__ import annotations

import structlog
from celery import Task, shared_task
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.core.celery_app import DOCUMENT_CHANGED, ENABLEMENT_QUEUE, SEND_REMINDERS, task_settings
from services.core.errors import database_unreachable
from services.core.runtime import task_runtime
from services.enablement.lifecycle import deliver_reminders, queue_reminders, retire_for_change

log = structlog.get_logger(__name__)


@shared_task(
    name=DOCUMENT_CHANGED,
    bind=True,
    queue=ENABLEMENT_QUEUE,
    acks_late=True,
    # The database away or locked: wait it out rather than drop the change (items would stay unretired).
    autoretry_for=(ConnectionError, TimeoutError, OperationalError, InterfaceError),
    retry_backoff=10,
    max_retries=10,
)
def document_changed(self: Task, org_id: str, document_id: str, version: int | None, change: str) -> dict[str, int]:
    """Sent by ingest (by name) after a document's current version was replaced, or the document deleted:
    retire the items built from the old text and flag certifications that relied on them for renewal."""
    runtime = task_runtime(task_settings())
    try:
        return runtime.run(retire_for_change(runtime.sessions, org_id, document_id, version, change, runtime.store))
    except DBAPIError as exc:  # a dropped connection arrives as a bare DBAPIError from asyncpg: wait it out too
        if database_unreachable(exc):
            raise self.retry(exc=exc) from exc
        raise


@shared_task(name=SEND_REMINDERS, bind=True, queue=ENABLEMENT_QUEUE, acks_late=True)
def send_reminders(self: Task) -> dict[str, int]:
    """Periodic (beat): write due-soon and overdue reminders into the outbox once each, then deliver pending
    ones to the webhook when one is configured."""
    settings = task_settings()
    runtime = task_runtime(settings)
    queued = runtime.run(queue_reminders(runtime.sessions, settings.enablement))
    delivered = runtime.run(deliver_reminders(runtime.sessions, settings.enablement))
    return {"queued": queued, "delivered": delivered}
