"""Fixtures of the write-queue tests: a queue of the test's own, clients, a committer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from infra.migrations import migrate
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient
from infra.settings import Settings
from infra.stores.keys import QueueKeys
from tests.support import unique_name
from worker.committer import GroupCommitter
from worker.settings import arq_pool, build_worker, worker_options


@pytest.fixture
def keys() -> QueueKeys:
    """The keys of a queue no other test uses."""
    return QueueKeys(unique_name("chatmem:test-queue"))


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[RedisClient]:
    """A client on this session's (flushed) Redis database."""
    client = RedisClient.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def postgres(database_url: str) -> AsyncIterator[PostgresClient]:
    """A small pool on the test's migrated schema."""
    client = await PostgresClient.connect(database_url, max_size=2)
    await migrate(client.pool)
    yield client
    await client.close()


@pytest.fixture
async def committer(
    postgres: PostgresClient, redis: RedisClient, keys: QueueKeys
) -> AsyncIterator[GroupCommitter]:
    """A group committer on ``postgres`` and the test's queue."""
    committer = GroupCommitter(postgres, redis, keys)
    yield committer
    await committer.aclose()


Drain = Callable[[QueueKeys], Awaitable[int]]


@pytest.fixture
def drain(redis_url: str, database_url: str) -> Drain:
    """Runs a worker in this process until the queue is empty; returns the jobs it ran."""

    async def run(keys: QueueKeys) -> int:
        settings = Settings(redis_url=redis_url, database_url=database_url, queue_name=keys.queue)
        pool = arq_pool(redis_url, keys.queue)
        options = worker_options(settings, redis_url, database_url, pool)
        worker = build_worker({**options, "burst": True, "poll_delay": 0, "handle_signals": False})
        try:
            await worker.main()
        finally:
            await worker.close()
        return int(worker.jobs_complete)

    return run
