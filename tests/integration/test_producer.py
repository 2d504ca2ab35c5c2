"""The producer against a real Redis: arq's job format, versions, pending entries, grouping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from arq.connections import ArqRedis

from domain.errors import InvalidNamespaceError, InvalidValueError, ServiceUnavailableError
from infra.redis_client import RedisClient
from infra.stores.jobs import FUNCTION_NAME, decode_ops, deserialize_job
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_delete, encode_put


@pytest.fixture
async def producer(redis: RedisClient, keys: QueueKeys) -> AsyncIterator[WriteProducer]:
    producer = WriteProducer(redis, keys)
    yield producer
    await producer.aclose()


async def queued_ops(redis: RedisClient, keys: QueueKeys) -> list[list[dict[str, object]]]:
    """The ops of every queued job, read the way arq's worker reads them."""
    arq = ArqRedis(redis.redis.connection_pool, job_deserializer=deserialize_job)
    jobs = await arq.queued_jobs(queue_name=keys.queue)
    assert all(job.function == FUNCTION_NAME for job in jobs)
    return [job.args[0] for job in jobs]


async def test_a_put_becomes_an_arq_job_in_json_with_one_op(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    await producer.submit(encode_put(("users", "u1"), "k", {"tags": [], "n": 1}, None))
    [[op]] = await queued_ops(redis, keys)
    [write] = decode_ops([op])
    assert write.value == {"tags": [], "n": 1}  # an empty array stays an array
    assert op["version"] == int(await redis.redis.get(keys.version_counter))
    [job_id] = await redis.redis.zrange(keys.queue, 0, -1)
    raw = await redis.redis.get(keys.job(job_id.decode()))
    assert orjson.loads(raw)["f"] == FUNCTION_NAME


async def test_versions_follow_the_order_redis_accepted_the_writes(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    for i in range(5):
        await producer.submit(encode_put(("ns",), "k", {"i": i}, None))
    ops = [op for job in await queued_ops(redis, keys) for op in job]
    by_value = sorted(ops, key=lambda op: op["value"]["i"])  # type: ignore[index]
    versions = [op["version"] for op in by_value]
    assert versions == sorted(versions)
    assert len(set(versions)) == 5


async def test_versions_keep_growing_when_the_counter_is_lost(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    await producer.submit(encode_put(("ns",), "k", {"i": 1}, None))
    first = int(await redis.redis.get(keys.version_counter))
    await redis.redis.delete(keys.version_counter)
    await producer.submit(encode_put(("ns",), "k", {"i": 2}, None))
    assert int(await redis.redis.get(keys.version_counter)) > first


async def test_a_group_numbers_its_ops_one_by_one_across_hundreds(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    # A counter far ahead of the clock fixes the first version; the script writes
    # the versions' text digit by digit, so ...95 to ...10094 crosses two carries.
    last = 8_999_999_999_999_894
    await redis.redis.set(keys.version_counter, last)
    writes = [encode_put(("users", f"u{i % 3}"), f"k{i}", {"i": i}, None) for i in range(200)]
    await producer.submit_many(writes)
    [ops] = await queued_ops(redis, keys)
    assert [op["version"] for op in ops] == list(range(last + 1, last + 201))
    assert int(await redis.redis.get(keys.version_counter)) == last + 200
    for i, op in enumerate(ops):
        entry = await redis.redis.hget(keys.pending_entries(f"users.u{i % 3}"), f"k{i}")
        version, _, pending = entry.partition(b" ")
        assert int(version) == last + 1 + i
        assert orjson.loads(pending) == op


async def test_a_single_write_and_a_group_make_ops_and_entries_of_one_format(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    # The script takes a shorter path for one write than for a group.
    await producer.submit(encode_put(("users", "u0"), "alone", {"v": 1}, 5))
    await producer.submit_many(
        [encode_put(("users", "u1"), "grouped", {"v": 1}, 5), encode_delete(("users", "u2"), "x")]
    )
    seconds, micros = await redis.redis.time()
    now_us = seconds * 1_000_000 + micros
    [[alone], [grouped, _]] = sorted(await queued_ops(redis, keys), key=len)
    for op in (alone, grouped):
        written_at = op.pop("written_at")
        version = op.pop("version")
        assert isinstance(written_at, int)
        assert isinstance(version, int)
        # Redis's clock, in microseconds; a version is never behind it.
        assert 0 <= now_us - written_at < 60_000_000
        assert version >= written_at
        namespace = ".".join(op["namespace"])  # type: ignore[arg-type]
        entry = await redis.redis.hget(keys.pending_entries(namespace), op["key"])
        assert entry.partition(b" ")[0] == b"%d" % version
        assert orjson.loads(entry.partition(b" ")[2]) == {
            **op,
            "version": version,
            "written_at": written_at,
        }
    assert {**alone, "namespace": ["users", "u1"], "key": "grouped"} == grouped
    pending = await redis.redis.zrange(keys.pending_namespaces, 0, -1)
    assert pending == [b"users.u0", b"users.u1", b"users.u2"]
    job_ids = await redis.redis.zrange(keys.queue, 0, -1, withscores=True)
    for job_id, score in job_ids:
        job = orjson.loads(await redis.redis.get(keys.job(job_id.decode())))
        assert list(job) == ["t", "f", "k", "et", "a"]
        assert job["et"] == score == job["a"][0][0]["written_at"] // 1000


async def test_the_write_is_pending_until_committed(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    await producer.submit(encode_put(("users", "u1"), "k", {"v": 1}, 5))
    await producer.submit(encode_delete(("users", "u1"), "gone"))
    assert await redis.redis.zrange(keys.pending_namespaces, 0, -1) == [b"users.u1"]
    entries = await redis.redis.hgetall(keys.pending_entries("users.u1"))
    assert set(entries) == {b"k", b"gone"}
    version, _, op = entries[b"k"].partition(b" ")
    put = orjson.loads(op)
    assert put["value"] == {"v": 1}
    assert put["ttl"] == 5
    assert int(version) == put["version"]
    assert orjson.loads(entries[b"gone"].partition(b" ")[2])["op"] == "delete"


async def test_concurrent_writes_leave_in_few_jobs(
    producer: WriteProducer, redis: RedisClient, keys: QueueKeys
) -> None:
    await asyncio.gather(
        *(producer.submit(encode_put(("ns",), f"k{i}", {"i": i}, None)) for i in range(200))
    )
    jobs = await queued_ops(redis, keys)
    assert sum(len(job) for job in jobs) == 200
    assert len(jobs) < 20
    assert producer.jobs_enqueued == len(jobs)


async def test_a_group_never_exceeds_the_job_bounds(redis: RedisClient, keys: QueueKeys) -> None:
    producer = WriteProducer(redis, keys, max_ops_per_job=7)
    await asyncio.gather(
        *(producer.submit(encode_put(("ns",), f"k{i}", {"i": i}, None)) for i in range(50))
    )
    jobs = await queued_ops(redis, keys)
    assert sum(len(job) for job in jobs) == 50
    assert max(len(job) for job in jobs) <= 7


def test_an_invalid_write_is_refused_before_anything_is_queued() -> None:
    with pytest.raises(InvalidNamespaceError):
        encode_put(("a.b",), "k", {}, None)
    with pytest.raises(InvalidValueError):
        encode_put(("a",), "k", {"f": float("nan")}, None)


async def test_redis_down_is_a_clear_error_and_nothing_is_accepted(keys: QueueKeys) -> None:
    client = RedisClient.from_url("redis://:hunter2@127.0.0.1:1/0")
    producer = WriteProducer(client, keys)
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            await producer.submit(encode_put(("ns",), "k", {}, None))
        waiting = [producer.submit(encode_put(("ns",), f"k{i}", {}, None)) for i in range(5)]
        results = await asyncio.gather(*waiting, return_exceptions=True)
    finally:
        await client.aclose()
    assert caught.value.service == "Redis"
    assert "hunter2" not in str(caught.value)
    assert all(isinstance(r, ServiceUnavailableError) for r in results)


async def test_a_queue_name_with_quotes_and_backslashes_is_used_verbatim(
    redis: RedisClient,
) -> None:
    keys = QueueKeys("chatmem:test \"q\\\\]]--[['")
    producer = WriteProducer(redis, keys)
    await producer.submit(encode_put(("ns",), "k", {"v": 1}, None))
    assert await redis.redis.zcard(keys.queue) == 1
    assert await redis.redis.hget(keys.pending_entries("ns"), "k") is not None
    await redis.redis.delete(keys.queue, keys.version_counter)


async def test_writes_waiting_when_the_producer_is_cancelled_do_not_hang(
    redis: RedisClient, keys: QueueKeys
) -> None:
    producer = WriteProducer(redis, keys)
    writes = [
        asyncio.create_task(producer.submit(encode_put(("ns",), f"k{i}", {}, None)))
        for i in range(20)
    ]
    # The first write goes at once; the drainer for the other 19 starts when it
    # returns. Cancel the drainer the moment it exists, before it sends anything.
    for _ in range(100_000):
        await asyncio.sleep(0)
        if (drainer := producer._drainer) is not None:
            drainer.cancel()
            break
    results = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), 5)
    assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)
    assert any(isinstance(r, asyncio.CancelledError) for r in results)
