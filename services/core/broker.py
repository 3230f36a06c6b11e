"""kombu's Redis transport with one fault fixed: a worker waiting on Redis (BRPOP) while it holds an unacknowledged
message (a retry's countdown, which a worker keeps until it is due) exited with "Unrecoverable error:
AttributeError: 'NoneType' object has no attribute 'hostname'" when Redis went away (kombu 5.7, Celery 5.7).

On a lost connection Celery first `collect()`s the consumer connection: closing its channel there stops in the
middle of the BRPOP read (the broker is gone), kombu swallows that as a connection error, and the transport is then
detached (`transport.client = None`). Celery then closes the connection again; this time the channel tries to put
its unacknowledged messages back and needs a new Redis client, whose parameters it reads from the detached
transport. The AttributeError is no connection error, so nothing catches it and the worker process exits.

Here that restore fails as the broker outage it is (a connection error, which the close ignores). The messages stay
in Redis's `unacked` hash; the stranded-job sweep re-sends their jobs (services/ingest/tasks.py::find_stranded),
and Redis itself hands them back after the visibility timeout, when the job is found done.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

TRANSPORT = "services.core.broker:Transport"


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    def restore_unacked(self, client: Any = None) -> Any:
        transport = self.channel.connection
        if client is None and (transport is None or transport.client is None):
            raise RedisConnectionError("the broker connection is gone; unacknowledged messages stay in Redis")
        return super().restore_unacked(client)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = QoS


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel
