"""Writes PostgreSQL refuses for good are isolated by bisection; transient errors are not."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from domain.models import StoreWrite
from infra.migrations import migrate
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from worker.committer import GroupCommitter

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NS = ("users", "u1")


def put(key: str, version: int, value: object = None) -> StoreWrite:
    return StoreWrite("put", NS, key, {"v": version if value is None else value}, None, version, T0)


def nul_put(key: str, version: int) -> StoreWrite:
    # The producer and the worker's checks refuse this; only a committer handed it directly sees it.
    return put(key, version, "bad\x00value")


@pytest.fixture
async def postgres(database_url: str) -> AsyncIterator[PostgresClient]:
    """The committer's pool (conftest's, overridden here): a short lock timeout."""
    # A short lock timeout makes a held row lock fail fast: a transient error.
    client = await PostgresClient.connect(
        database_url, max_size=2, server_settings={"lock_timeout": "200ms"}
    )
    await migrate(client.pool)
    yield client
    await client.close()


async def stored(postgres: PostgresClient) -> dict[str, object]:
    rows = await postgres.pool.fetch("SELECT key, value FROM chatmem_store")
    return {row["key"]: row["value"] for row in rows}


async def test_two_poison_writes_among_hundreds_cost_a_few_statements_not_one_per_write(
    committer: GroupCommitter, postgres: PostgresClient, redis: RedisClient, keys: QueueKeys
) -> None:
    rng = random.Random(3)
    long_key = "".join(chr(rng.randint(0x10000, 0x3FFFF)) for _ in range(1000))
    jobs = [[put(f"k{j}-{i}", 1) for i in range(40)] for j in range(8)]
    jobs[2][17] = nul_put("nul", 1)
    jobs[6][3] = put(long_key, 1)
    results = await asyncio.gather(*(committer.commit(f"job{j}", w) for j, w in enumerate(jobs)))
    assert [len(r) for r in results] == [0, 0, 1, 0, 0, 0, 1, 0]
    assert "SQLSTATE 22P05" in results[2][0].error  # jsonb refuses \u0000
    assert "SQLSTATE 54000" in results[6][0].error  # the key is too long for its index
    assert len(await stored(postgres)) == 8 * 40 - 2
    # Bisection: about 2 * log2(320) statements per poison write, not 320.
    assert committer.stats.statements <= 1 + 2 * 2 * 9
    entries = await redis.redis.xrange(keys.dead_letters)
    assert sorted(f[b"job_id"] for _, f in entries) == [b"job2", b"job6"]


async def test_the_older_write_of_a_refused_key_lands_instead(
    committer: GroupCommitter, postgres: PostgresClient
) -> None:
    await asyncio.gather(
        committer.commit("older", [put("k", 1, "older")]),
        committer.commit("newer", [nul_put("k", 2)]),
    )
    assert await stored(postgres) == {"k": {"v": "older"}}


async def test_a_transient_error_fails_the_jobs_for_a_retry_and_buries_nothing(
    committer: GroupCommitter,
    postgres: PostgresClient,
    redis: RedisClient,
    keys: QueueKeys,
    database_url: str,
) -> None:
    await committer.commit("first", [put("k", 1)])
    holder = await asyncpg.connect(database_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM chatmem_store WHERE key = 'k' FOR UPDATE")
            with pytest.raises(asyncpg.exceptions.LockNotAvailableError):
                await committer.commit("blocked", [put("k", 2), put("other", 2)])
    finally:
        await holder.close()
    assert await redis.redis.xlen(keys.dead_letters) == 0
    assert await committer.commit("blocked", [put("k", 2), put("other", 2)]) == []
    assert await stored(postgres) == {"k": {"v": 2}, "other": {"v": 2}}
