"""Session fixtures: a reachable Redis and PostgreSQL for every test that asks.

The real servers when they answer (REDIS_URL / DATABASE_URL, else the local
default ports), embedded ones otherwise. Each session claims its own Redis
database number and creates its own PostgreSQL database; each test gets a
flushed Redis database and its own PostgreSQL schema, and cleans up after
itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest
import redis

from infra.services import Endpoints, ServiceResolver
from infra.settings import Settings
from tests.secure_servers import SecureServers, secure_servers
from tests.support import (
    CLAIM_KEY,
    claim_redis_db,
    ensure_loopback,
    pid_alive,
    unique_name,
    with_database,
    with_query,
    with_redis_db,
)


@dataclass(frozen=True)
class PostgresSchema:
    """A test's own schema in the session database, and a DSN that selects it."""

    url: str
    name: str
    database_url: str


def pytest_sessionstart(session: pytest.Session) -> None:
    """Loopback up even in an ``unshare -n`` sandbox (see ensure_loopback)."""
    ensure_loopback()


@pytest.fixture(scope="session")
def services() -> Iterator[Endpoints]:
    """The Redis and PostgreSQL this session uses (real, or embedded when none answers)."""
    resolver = ServiceResolver(Settings.from_env(), allow_embedded=True)
    previous = signal.getsignal(signal.SIGTERM)
    resolver.embedded.stop_on_sigterm()
    try:
        yield asyncio.run(resolver.resolve())
    finally:
        signal.signal(signal.SIGTERM, previous)
        resolver.close()


@pytest.fixture(scope="session")
def redis_session_url(services: Endpoints) -> Iterator[str]:
    """A Redis URL on a database number this session alone uses."""
    db = claim_redis_db(services.redis_url)
    url = with_redis_db(services.redis_url, db)
    yield url
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_session_url: str) -> Iterator[str]:
    """This session's Redis database, empty at the start of the test and flushed after."""
    client = redis.Redis.from_url(redis_session_url)
    try:
        client.flushdb()
        client.set(CLAIM_KEY, os.getpid(), ex=6 * 3600)
        yield redis_session_url
        client.flushdb()
        client.set(CLAIM_KEY, os.getpid(), ex=6 * 3600)
    finally:
        client.close()


async def _drop_stale_test_databases(admin: asyncpg.Connection) -> None:
    rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'chatmem_test_%'")
    for row in rows:
        name = row["datname"]
        pid = name.split("_")[2]
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(asyncpg.PostgresError):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _create_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await _drop_stale_test_databases(admin)
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def postgres_database_url(services: Endpoints) -> Iterator[str]:
    """A database this session alone uses, dropped at the end."""
    name = unique_name("chatmem_test")
    asyncio.run(_create_database(services.database_url, name))
    yield with_database(services.database_url, name)
    asyncio.run(_drop_database(services.database_url, name))


async def _run_sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_schema(postgres_database_url: str) -> Iterator[PostgresSchema]:
    """A schema of the test's own; its DSN puts it first on the search_path."""
    name = unique_name("t")
    asyncio.run(_run_sql(postgres_database_url, f'CREATE SCHEMA "{name}"'))
    yield PostgresSchema(
        url=with_query(postgres_database_url, search_path=name),
        name=name,
        database_url=postgres_database_url,
    )
    asyncio.run(_run_sql(postgres_database_url, f'DROP SCHEMA "{name}" CASCADE'))


@pytest.fixture
def database_url(postgres_schema: PostgresSchema) -> str:
    """A DSN on the test's own, empty schema."""
    return postgres_schema.url


@pytest.fixture(scope="session")
def secure() -> Iterator[SecureServers]:
    """A Redis and a PostgreSQL of this session's own that demand a password and speak TLS."""
    with secure_servers() as servers:
        yield servers
