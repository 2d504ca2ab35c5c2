"""Jobs and ops the worker must not or cannot persist end in the dead letters, never nowhere."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from arq import Retry

from domain.errors import ServiceUnavailableError
from domain.models import StoreWrite
from infra.migrations import migrate
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient
from infra.settings import Settings
from infra.stores.dead_letters import DeadLetters
from infra.stores.jobs import FUNCTION_NAME
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_put
from infra.stores.scripts import new_job_id
from tests.integration.conftest import Drain
from worker.jobs import persist_store_writes

NS = ["users", "u1"]


def op(key: str, version: int, value: Any = None) -> dict[str, Any]:
    value = {"v": version} if value is None else value
    return {
        "op": "put", "namespace": NS, "key": key, "value": value, "ttl": None,
        "version": version, "written_at": 1_700_000_000_000_000,
    }  # fmt: skip


async def enqueue_raw(redis: RedisClient, keys: QueueKeys, payload: bytes) -> str:
    job_id = new_job_id()
    await redis.redis.set(keys.job(job_id), payload)
    await redis.redis.zadd(keys.queue, {job_id: int(time.time() * 1000)})
    return job_id


def job(*ops: Any, function: str = FUNCTION_NAME) -> bytes:
    return orjson.dumps({"t": None, "f": function, "a": [list(ops)], "k": {}, "et": 1})


async def entries(redis: RedisClient, keys: QueueKeys) -> list[dict[bytes, bytes]]:
    return [fields for _, fields in await redis.redis.xrange(keys.dead_letters)]


async def stored_keys(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {row["key"] for row in await conn.fetch("SELECT key FROM chatmem_store")}
    finally:
        await conn.close()


@pytest.fixture
async def migrated(database_url: str) -> str:
    async with await PostgresClient.connect(database_url, max_size=1) as client:
        await migrate(client.pool)
    return database_url


async def test_jobs_that_cannot_be_decoded_are_dead_lettered_raw_and_never_run(
    redis: RedisClient, keys: QueueKeys, drain: Drain
) -> None:
    payloads = [
        b"\x80\x04\x95 pickle, not json",
        orjson.dumps({"t": None, "f": FUNCTION_NAME, "a": "ops", "k": {}, "et": 1}),
        orjson.dumps({"t": "two", "f": FUNCTION_NAME, "a": [[op("k", 1)]], "k": {}, "et": 1}),
        job(op("k", 1), function="os.system"),
        orjson.dumps({"t": None, "f": FUNCTION_NAME, "a": [[]], "k": {}, "et": 1}),
    ]
    for payload in payloads:
        await enqueue_raw(redis, keys, payload)
    await drain(keys)
    found = await entries(redis, keys)
    assert sorted(e[b"payload"] for e in found) == sorted(payloads)
    assert {e[b"kind"] for e in found} == {b"malformed"}
    assert all(e[b"error"] for e in found)
    assert await redis.redis.zcard(keys.queue) == 0
    assert await redis.redis.keys("arq:job:*") == []


async def test_a_job_whose_key_vanished_leaves_the_queue_without_a_dead_letter(
    redis: RedisClient, keys: QueueKeys, drain: Drain
) -> None:
    job_id = await enqueue_raw(redis, keys, job(op("k", 1)))
    await redis.redis.delete(keys.job(job_id))  # as if someone deleted it by hand
    async with asyncio.timeout(10):
        await drain(keys)
    assert await redis.redis.zcard(keys.queue) == 0
    assert await redis.redis.exists(keys.in_progress(job_id), keys.retry(job_id)) == 0
    assert await redis.redis.xlen(keys.dead_letters) == 0


async def test_an_invalid_op_is_dead_lettered_alone_and_the_rest_of_its_job_persists(
    redis: RedisClient, keys: QueueKeys, drain: Drain, migrated: str
) -> None:
    nul = op("nul", 2, {"text": "a\u0000b"})
    bad_version = op("huge", 2**60)
    # The NUL write left a pending entry, as a producer in another language might.
    await redis.redis.hset(keys.pending_entries("users.u1"), "nul", b"2 " + orjson.dumps(nul))
    await redis.redis.zadd(keys.pending_namespaces, {"users.u1": 0})
    await enqueue_raw(redis, keys, job(op("good", 1), nul, bad_version, op("also", 3)))
    await drain(keys)
    assert await stored_keys(migrated) == {"good", "also"}
    found = await entries(redis, keys)
    assert [(e[b"kind"], orjson.loads(e[b"op"])["key"]) for e in found] == [
        (b"invalid", "nul"),
        (b"invalid", "huge"),
    ]
    assert b"NUL" in found[0][b"error"]
    assert await redis.redis.exists(keys.pending_entries("users.u1")) == 0


async def test_a_job_arq_gives_up_on_after_crashes_is_dead_lettered_with_its_ops(
    redis: RedisClient, keys: QueueKeys, drain: Drain, migrated: str
) -> None:
    producer = WriteProducer(redis, keys)
    await producer.submit(encode_put(tuple(NS), "k", {"v": 1}, None))
    [job_id] = [m.decode() for m in await redis.redis.zrange(keys.queue, 0, -1)]
    # As if twenty workers had died running it: the next run is past the last try.
    await redis.redis.set(keys.retry(job_id), Settings().worker_max_tries)
    await drain(keys)
    [entry] = await entries(redis, keys)
    assert entry[b"kind"] == b"exhausted"
    assert entry[b"job_id"] == job_id.encode()
    assert int(entry[b"tries"]) == Settings().worker_max_tries + 1
    assert b"max 20 retries exceeded" in entry[b"error"]
    assert orjson.loads(entry[b"op"])["value"] == {"v": 1}
    assert await stored_keys(migrated) == set()
    assert await redis.redis.zcard(keys.pending_namespaces) == 0


class UnreachableCommitter:
    """A committer whose PostgreSQL never answers."""

    async def commit(self, job_id: str, writes: list[StoreWrite], job_try: int) -> None:
        raise ServiceUnavailableError("PostgreSQL", "postgresql://app:***@db/mem", "refused")


@pytest.fixture
async def context(redis: RedisClient, keys: QueueKeys) -> dict[str, Any]:
    producer = WriteProducer(redis, keys)
    await producer.submit(encode_put(tuple(NS), "k", {"v": 1}, None))
    [job_id] = [m.decode() for m in await redis.redis.zrange(keys.queue, 0, -1)]
    return {
        "redis": redis.redis,
        "settings": Settings(worker_max_tries=3, worker_retry_base=0.5, worker_retry_max=30),
        "committer": UnreachableCommitter(),
        "dead_letters": DeadLetters(redis, keys),
        "job_deadline_s": 5.0,
        "job_id": job_id,
        "enqueue_time": datetime.now(UTC),
        "score": 0,
    }


async def test_a_transient_failure_before_the_last_try_asks_for_a_jittered_retry(
    context: dict[str, Any], redis: RedisClient, keys: QueueKeys
) -> None:
    defers = set()
    for _ in range(5):
        with pytest.raises(Retry) as caught:
            await persist_store_writes({**context, "job_try": 2}, [op("k", 1)])  # type: ignore[typeddict-item]
        defers.add(caught.value.defer_score)
    assert all(500 <= d <= 1000 for d in defers)  # the second try: 1 s, half of it jittered
    assert len(defers) > 1
    assert await redis.redis.xlen(keys.dead_letters) == 0


async def test_the_last_failing_try_dead_letters_the_writes_and_drops_the_job(
    context: dict[str, Any], redis: RedisClient, keys: QueueKeys
) -> None:
    await persist_store_writes({**context, "job_try": 3}, [op("k", 1)])  # type: ignore[typeddict-item]
    [entry] = await entries(redis, keys)
    assert entry[b"kind"] == b"exhausted"
    assert b"PostgreSQL at postgresql://app:***@db/mem is unavailable" in entry[b"error"]
    assert await redis.redis.zcard(keys.queue) == 0
    assert await redis.redis.zcard(keys.pending_namespaces) == 0
    assert await redis.redis.exists(keys.job(context["job_id"])) == 0
