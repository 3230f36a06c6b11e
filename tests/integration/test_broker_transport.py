"""services/core/broker.py: Celery uses the patched Redis transport for a redis:// broker, and a channel whose
transport was detached (Celery's collect() after the broker went away) fails to put its unacknowledged messages
back as the connection error it is, which kombu's close ignores, instead of an AttributeError that ended the
worker process. On the real Redis; the detach is the one attribute Celery clears."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from services.core import broker
from services.core.celery_app import create_celery
from tests.conftest import settings_for_tests

pytestmark = pytest.mark.integration


def test_a_redis_broker_uses_the_patched_transport_and_memory_does_not(tmp_path: Path, redis_url: str) -> None:
    app = create_celery(settings_for_tests(tmp_path / "redis", REDIS_URL=redis_url))
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, broker.Transport)
    app = create_celery(settings_for_tests(tmp_path / "memory"))
    with app.connection_for_write() as conn:
        assert not isinstance(conn.transport, broker.Transport)


def test_a_detached_channel_fails_its_restore_as_a_connection_error(tmp_path: Path, redis_url: str) -> None:
    app = create_celery(settings_for_tests(tmp_path, REDIS_URL=redis_url))
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        assert isinstance(channel.qos, broker.QoS)
        transport, client = channel.connection, channel.connection.client
        transport.client = None  # what Celery's collect() leaves after a lost connection
        try:
            with pytest.raises(RedisConnectionError):
                channel.qos.restore_unacked()
            # ... an error kombu counts as a lost connection, so closing the channel or connection goes on.
            assert issubclass(RedisConnectionError, tuple(transport.connection_errors))
        finally:
            transport.client = client
