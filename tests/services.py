"""Where the tests find Redis and PostgreSQL: a configured URL, else a container when a Docker engine
answers, else the machine's local server. Tests that need Docker itself skip with the reason."""

from __future__ import annotations

import functools
import os
import socket
import uuid
from urllib.parse import urlparse


@functools.cache
def docker_available() -> tuple[bool, str]:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # the docker SDK raises several unrelated types when no engine runs
        return False, f"no Docker engine ({type(exc).__name__}); testcontainers tests need one"
    return True, ""


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


_containers: list[object] = []


@functools.cache
def redis_url() -> str | None:
    if url := os.environ.get("TEST_REDIS_URL"):
        return url
    if docker_available()[0]:
        from testcontainers.redis import RedisContainer

        container = RedisContainer("redis:7-alpine").start()
        _containers.append(container)
        return f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
    local = "redis://127.0.0.1:6379/0"
    return local if _reachable(local, 6379) else None


@functools.cache
def postgres_admin_url() -> str | None:
    """A server URL (database `test` or the container's) from which per-test databases are created."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    if docker_available()[0]:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver=None).start()
        _containers.append(container)
        return container.get_connection_url()
    local = "postgresql://postgres@127.0.0.1:5432/test"
    return local if _reachable(local, 5432) else None


async def create_database(admin_url: str) -> tuple[str, str]:
    """A fresh database on the server; returns (asyncpg URL, name)."""
    import asyncpg

    name = f"pitchcraft_test_{uuid.uuid4().hex[:10]}"
    parsed = urlparse(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    conn = await asyncpg.connect(parsed._replace(scheme="postgresql").geturl())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = parsed._replace(path=f"/{name}").geturl().replace("postgresql://", "postgresql+asyncpg://", 1)
    return url, name


async def drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    parsed = urlparse(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    conn = await asyncpg.connect(parsed.geturl())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def stop_containers() -> None:
    for container in _containers:
        container.stop()  # type: ignore[attr-defined]
    _containers.clear()
