"""Every key a thread owns expires TTL minutes after its last write (and read, when asked)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.checkpointer_support import (
    chat_graph,
    chat_turn,
    keys_under,
    open_saver,
    ttls,
    turn_config,
)

MINUTE_MS = 60_000


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _age(redis: aioredis.Redis, keys: set[str], ms: int) -> None:
    """Pretend time passed: leave each key ``ms`` to live."""
    for key in keys:
        await redis.pexpire(key, ms)


async def test_every_key_has_a_ttl_after_put_and_put_writes(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url, ttl_minutes=1) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "t1", "hello", run_id="run-1")
        await chat_turn(graph, "t1", "again", run_id="run-2")
        keys = await keys_under(redis, saver.keys.prefix)
        lifetimes = await ttls(redis, keys)

    thread_keys = set(saver.keys.thread("t1"))
    run_keys = {saver.keys.run("run-1"), saver.keys.run("run-2")}
    assert keys == thread_keys | run_keys
    for key in thread_keys:
        assert MINUTE_MS - 5_000 < lifetimes[key] <= MINUTE_MS, key
    # A run's index key lives twice the thread TTL, so it outlives its threads.
    for key in run_keys:
        assert 2 * MINUTE_MS - 5_000 < lifetimes[key] <= 2 * MINUTE_MS, key


async def test_each_write_pushes_the_thread_ttl_back(redis_url: str, redis: aioredis.Redis) -> None:
    async with open_saver(redis_url, ttl_minutes=1) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello")
        keys = await keys_under(redis, saver.keys.prefix)
        await _age(redis, keys, 5_000)

        latest = await saver.aget_tuple(turn_config("t1"))
        assert latest is not None
        await saver.aput_writes(latest.config, [("messages", [])], "task-1")

        lifetimes = await ttls(redis, keys)
    assert all(ms > MINUTE_MS - 5_000 for ms in lifetimes.values()), lifetimes


async def test_a_read_refreshes_the_ttl_when_refresh_on_read(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url, ttl_minutes=1, refresh_on_read=True) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello")
        keys = await keys_under(redis, saver.keys.prefix)
        await _age(redis, keys, 5_000)
        assert await saver.aget_tuple(turn_config("t1")) is not None
        lifetimes = await ttls(redis, keys)
    assert all(ms > MINUTE_MS - 5_000 for ms in lifetimes.values()), lifetimes


async def test_a_read_leaves_the_ttl_alone_without_refresh_on_read(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url, ttl_minutes=1, refresh_on_read=False) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello")
        keys = await keys_under(redis, saver.keys.prefix)
        await _age(redis, keys, 5_000)
        assert await saver.aget_tuple(turn_config("t1")) is not None
        assert [t async for t in saver.alist(turn_config("t1"))]
        lifetimes = await ttls(redis, keys)
    assert all(0 < ms <= 5_000 for ms in lifetimes.values()), lifetimes


async def test_ttl_none_means_keys_never_expire(redis_url: str, redis: aioredis.Redis) -> None:
    prefix = "cp-test:never"
    async with open_saver(redis_url, ttl_minutes=1, key_prefix=prefix) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello", run_id="run-1")
    async with open_saver(redis_url, ttl_minutes=None, key_prefix=prefix) as saver:
        # A thread that had a TTL keeps no expiry once a never-expiring saver writes it.
        await chat_turn(chat_graph(saver), "t1", "again", run_id="run-1")
        await chat_turn(chat_graph(saver), "t2", "hello", run_id="run-2")
        keys = await keys_under(redis, prefix)
        lifetimes = await ttls(redis, keys)
    assert len(keys) == 12
    assert set(lifetimes.values()) == {-1}


async def test_a_ttl_returns_to_every_key_after_a_never_expiring_saver(
    redis_url: str, redis: aioredis.Redis
) -> None:
    prefix = "cp-test:back"
    async with open_saver(redis_url, ttl_minutes=None, key_prefix=prefix) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello", run_id="run-1")
    async with open_saver(redis_url, ttl_minutes=1, key_prefix=prefix) as saver:
        await chat_turn(chat_graph(saver), "t1", "again", run_id="run-2")
        lifetimes = await ttls(redis, await keys_under(redis, prefix))
    assert len(lifetimes) == 7
    assert all(0 < ms <= 2 * MINUTE_MS for ms in lifetimes.values()), lifetimes


async def test_a_thread_is_gone_once_its_ttl_has_passed(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url, ttl_minutes=0.004) as saver:  # 240 ms
        await chat_turn(chat_graph(saver), "t1", "hello", run_id="run-1")
        assert await saver.aget_tuple(turn_config("t1")) is not None
        await asyncio.sleep(0.6)
        assert await saver.aget_tuple(turn_config("t1")) is None
        assert await keys_under(redis, saver.keys.prefix) == set()


async def test_a_copied_thread_gets_a_ttl_on_every_key(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url, ttl_minutes=1) as saver:
        await chat_turn(chat_graph(saver), "source", "hello", run_id="run-1")
        # The target already exists with a fresh TTL but has no run keys yet.
        await chat_turn(chat_graph(saver), "target", "hello")
        await saver.acopy_thread("source", "target")
        lifetimes = await ttls(redis, set(saver.keys.thread("target")))
        members = await redis.smembers(saver.keys.run("run-1"))
    assert all(MINUTE_MS - 5_000 < ms <= MINUTE_MS for ms in lifetimes.values()), lifetimes
    assert members == {b"source", b"target"}


async def test_a_run_index_is_kept_alive_as_long_as_its_thread(
    redis_url: str, redis: aioredis.Redis
) -> None:
    """A read can keep a thread alive long after its run's last write."""
    async with open_saver(redis_url, ttl_minutes=1) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello", run_id="run-1")
        thread_keys = set(saver.keys.thread("t1"))
        run_key = saver.keys.run("run-1")
        # As if the run's key was last extended long ago and the thread idled since.
        await redis.zadd(saver.keys.thread("t1")[4], {"run-1": 0}, xx=True)
        await redis.pexpire(run_key, 3_000)
        await _age(redis, thread_keys, 5_000)

        assert await saver.aget_tuple(turn_config("t1")) is not None
        run_ttl = await redis.pttl(run_key)
        thread_ttl = await redis.pttl(saver.keys.thread("t1")[0])
    assert thread_ttl > MINUTE_MS - 5_000
    assert run_ttl > 2 * MINUTE_MS - 5_000
