"""The Celery app factory: reliable delivery settings, JSON only, named tasks, one queue per service."""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from celery import Celery
from celery.signals import task_postrun, task_prerun
from celery.worker import WorkController, state
from redis.exceptions import RedisError

from services.core.broker import TRANSPORT
from services.core.settings import Mode, Settings

log = structlog.get_logger(__name__)

INGEST_QUEUE = "ingest"
ENABLEMENT_QUEUE = "enablement"
QUEUES = (INGEST_QUEUE, ENABLEMENT_QUEUE)
TASK_MODULES = ("services.ingest.tasks", "services.enablement.tasks")
# Sent by ingest, consumed by enablement: the task name is the contract between them.
DOCUMENT_CHANGED = "enablement.document_changed"
SEND_REMINDERS = "enablement.send_reminders"


def broker_url(settings: Settings) -> str:
    if settings.stores.redis_url:
        return settings.stores.redis_url
    if settings.mode is Mode.DISTRIBUTED:
        raise ValueError("distributed mode needs REDIS_URL")
    # Embedded mode without Redis: Celery's in-memory transport, consumed by worker threads in this process.
    return "memory://"


def create_celery(settings: Settings) -> Celery:
    url = broker_url(settings)
    app = Celery("pitchcraft", broker=url, set_as_current=True)
    # Process-wide, not only this thread's: a shared task's `self.app` (its retry, its sends) resolves to the
    # default app, which would otherwise be Celery's amqp://localhost default in every embedded worker thread.
    app.set_default()
    restore = settings.worker.unacked_restore_seconds
    app.conf.update(
        # Both together: acks_late alone strands a task whose worker dies; reject_on_worker_lost alone
        # acknowledges it before it ran.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Embedding tasks run for seconds to minutes: never reserve a second one behind a long one.
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_default_queue=INGEST_QUEUE,
        task_routes={"ingest.*": {"queue": INGEST_QUEUE}, "enablement.*": {"queue": ENABLEMENT_QUEUE}},
        broker_transport_options={
            "visibility_timeout": settings.worker.visibility_timeout_seconds,
            "unacked_restore_interval": restore,
            "unacked_restore_throttle": 1,
            # No blocking read waits forever: a broker gone without closing the TCP connection, or a channel
            # closed from another thread while its consumer read the BRPOP reply (an embedded shutdown hung
            # on that), fails after this instead. Well above kombu's 1 s BRPOP timeout.
            "socket_timeout": 15,
            "socket_connect_timeout": 5,
            **({"global_keyprefix": settings.worker.queue_prefix} if settings.worker.queue_prefix else {}),
        },
        broker_connection_retry_on_startup=True,
        # kombu's Redis transport, with a worker exit on a lost broker connection fixed (services/core/broker.py).
        **({"broker_transport": TRANSPORT} if url.startswith("redis://") else {}),
        # After a broker reconnect, unacknowledged messages are redelivered: stop the running copy rather
        # than let two run at once (the job claim would refuse the second anyway).
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # Prefork pools enforce these (solo and thread pools cannot): a hung task must end before Redis
        # hands its message to another worker at the visibility timeout.
        task_soft_time_limit=max(settings.worker.visibility_timeout_seconds - 120, 30),
        task_time_limit=max(settings.worker.visibility_timeout_seconds - 60, 60),
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule={
            "ingest-requeue-stranded-jobs": {
                "task": "ingest.requeue_stranded_jobs",
                "schedule": float(settings.ingest.sweep_interval_seconds),
            },
            "enablement-send-reminders": {
                "task": SEND_REMINDERS,
                "schedule": float(settings.enablement.reminder_interval_seconds),
            },
        },
        imports=TASK_MODULES,
    )
    global _task_settings, _task_app
    _task_settings, _task_app = settings, app
    app.loader.import_default_modules()
    return app


_task_settings: Settings | None = None
_task_app: Celery | None = None


def task_app() -> Celery:
    """The Celery app of this process, for tasks that send tasks. Not a task's `self.app`: a shared task
    resolves that to Celery's default app (amqp://localhost), so a message sent through it would go to
    another broker, or nowhere."""
    if _task_app is None:
        raise RuntimeError("create_celery(settings) has not run in this process")
    return _task_app


def task_settings() -> Settings:
    """The settings tasks of this process run with: those of the last `create_celery` (one per process)."""
    if _task_settings is None:
        raise RuntimeError("create_celery(settings) has not run in this process")
    return _task_settings


@task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task_name=getattr(task, "name", None))


@task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


# How long a stop waits before it checks whether the worker is stuck reconnecting to an unreachable broker.
STOP_GRACE_SECONDS = 2.0


def _connected(worker: WorkController) -> bool:
    """Whether the worker's consumer holds a live broker connection (False while it retries an unreachable one)."""
    consumer = getattr(worker, "consumer", None)
    connection = getattr(consumer, "connection", None)
    return bool(connection is not None and getattr(connection, "connected", False))


_running: EmbeddedWorker | None = None  # the embedded worker of this process, while it runs
_running_lock = threading.Lock()


class EmbeddedWorker:
    """Celery workers on threads inside this process (embedded mode): same tasks, same broker semantics."""

    def __init__(self, app: Celery, *, queues: tuple[str, ...] = QUEUES, concurrency: int = 1) -> None:
        self._app = app
        self._queues = queues
        self._concurrency = concurrency
        self._worker: WorkController | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Refused while another embedded worker of this process runs: two would share kombu's process-wide event
        loop, and one of them can miss its broker replies (a job message taken off Redis and never run)."""
        global _running
        with _running_lock:
            # The one registered counts until its thread has ended (set below, while the lock is held, so two
            # starts cannot both pass); a worker that is already running is not started twice.
            if _running is not None and (_running._thread is None or _running._thread.is_alive()):
                raise RuntimeError(
                    "another embedded worker is running in this process: stop its app first (embedded mode runs "
                    "one app, and so one worker, per process)"
                    if _running is not self
                    else "this embedded worker is already running"
                )
            _running = self
            self._thread = None
        try:
            worker = self._app.WorkController(
                pool_cls="threads" if self._concurrency > 1 else "solo",
                concurrency=self._concurrency,
                queues=list(self._queues),
                without_heartbeat=True,
                without_mingle=True,
                without_gossip=True,
                loglevel="WARNING",
                hostname=f"embedded-{threading.get_native_id()}@pitchcraft",
            )
            self._worker = worker
            self._thread = threading.Thread(target=worker.start, name="celery-embedded", daemon=True)
            self._thread.start()
        except BaseException:
            with _running_lock:
                if _running is self:
                    _running = None  # it never ran: the next start may go
            raise
        log.info("worker.embedded.started", queues=list(self._queues), concurrency=self._concurrency)

    def _stop_worker(self) -> None:
        """Celery's warm stop. Closing the broker channel can race the consumer thread's own read of it (kombu then
        raises from a socket the other thread closed: "I/O operation on closed file"); the worker is stopping either
        way, so that is logged, not left to escape the thread."""
        assert self._worker is not None
        try:
            self._worker.stop(in_sighandler=False, exitcode=0)
        except (ValueError, OSError, RedisError) as exc:
            log.info("worker.embedded.stop_raced", error=repr(exc))

    def stop(self, timeout: float = 60) -> bool:
        """Warm shutdown: the running task finishes first. False if it is still running after `timeout`
        (the caller must then leave the stores open; the job stays `running` and start-up re-queues it)."""
        deadline = time.monotonic() + timeout
        flagged = False
        if self._worker is not None:
            # Stopping can block on the broker connection: on a thread of its own, bounded like the rest.
            stopper = threading.Thread(target=self._stop_worker, name="celery-embedded-stop", daemon=True)
            stopper.start()
            stopper.join(timeout=min(timeout, STOP_GRACE_SECONDS))
            flagged = self._thread is not None and self._thread.is_alive() and not _connected(self._worker)
            if flagged:
                # The broker is unreachable: the consumer sits in its reconnect loop, which checks only Celery's
                # process-wide shutdown flag (once a second). Set it for this stop (one embedded worker per
                # process; the shutdown stays warm: a task running on a pool thread still finishes first) and
                # clear it afterwards, so a later worker can start.
                state.should_stop = 0
            stopper.join(timeout=max(deadline - time.monotonic(), 0.1))
        if self._thread is not None:
            self._thread.join(timeout=max(deadline - time.monotonic(), 0.1))
            if flagged:
                state.should_stop = None
            if self._thread.is_alive():
                log.warning("worker.embedded.still_running", timeout=timeout)
                return False
        log.info("worker.embedded.stopped")
        return True
