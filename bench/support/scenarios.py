"""The scenarios of bench/async_writes.py; each returns what it measured."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis

from bench.support.cpu import CpuMeter
from bench.support.naive_worker import FUNCTION as NAIVE_FUNCTION
from bench.support.queue_bench import BenchEnv, percentile
from domain.models import StoreWrite
from infra.postgres_client import init_connection
from infra.stores.jobs import encode_op
from infra.stores.keys import QueueKeys
from infra.stores.postgres import PostgresStore
from infra.stores.queued import QueuedStore
from infra.stores.writes import upsert_newer
from tests.support import unique_name
from worker.settings import arq_pool

NAIVE_WORKER = (sys.executable, str(Path(__file__).resolve().parents[1] / "async_writes.py"))
TEXT = "the user prefers short answers and writes in English; " * 2


@dataclass
class Throughput:
    """Writes persisted end to end, how long it took, and what PostgreSQL did for them."""

    writes: int
    seconds: float
    statements: int
    latencies_ms: list[float] | None = None
    # Microseconds of CPU per write, by process group (scenarios with a worker).
    cpu_us: dict[str, float] | None = None

    @property
    def per_second(self) -> float:
        """Persisted writes per second."""
        return self.writes / self.seconds

    @property
    def statements_per_write(self) -> float:
        """Committed transactions per write (each write statement is its own transaction)."""
        return self.statements / self.writes

    @property
    def p50_ms(self) -> float | None:
        """Median enqueue (or put) latency."""
        return percentile(self.latencies_ms, 50) if self.latencies_ms else None

    @property
    def p99_ms(self) -> float | None:
        """99th percentile enqueue (or put) latency."""
        return percentile(self.latencies_ms, 99) if self.latencies_ms else None


def bench_item(i: int) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    """The i-th write of every scenario: 64 users, about 150 bytes of value."""
    return ("bench", f"user{i % 64}", "facts"), f"fact{i}", {"text": TEXT, "n": i, "tags": []}


def bench_writes(n: int) -> list[StoreWrite]:
    """The writes of a scenario as StoreWrite (versions 1..n)."""
    now = datetime.now(UTC)
    return [StoreWrite("put", *bench_item(i), None, i + 1, now) for i in range(n)]


async def _stored_rows(env: BenchEnv) -> int:
    conn = await asyncpg.connect(env.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM chatmem_store"))
    finally:
        await conn.close()


async def raw_upsert(env: BenchEnv, n: int, batch: int = 1000) -> Throughput:
    """(a) The limit: the same rows through one asyncpg connection, 1000 per statement."""
    await env.reset_store()
    writes = bench_writes(n)
    before = await env.xact_commits()
    conn = await asyncpg.connect(env.database_url)
    await init_connection(conn)
    try:
        started = time.perf_counter()
        for i in range(0, n, batch):
            await upsert_newer(conn, writes[i : i + batch])
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    assert await _stored_rows(env) == n
    return Throughput(n, seconds, await env.xact_commits() - before)


async def run_producers(
    n: int, producers: int, write: Callable[[int], Awaitable[object]]
) -> list[float]:
    """Call ``write(i)`` for i < n from ``producers`` concurrent tasks; latencies in ms."""
    latencies: list[float] = []

    async def producer(first: int) -> None:
        for i in range(first, n, producers):
            started = time.perf_counter()
            await write(i)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(producer(p) for p in range(producers)))
    return latencies


async def wait_drained(redis: aioredis.Redis, *keys: str) -> None:
    """Until every given sorted set (queue, pending namespaces) is empty."""
    while True:
        if not any([await redis.zcard(key) for key in keys]):
            return
        await asyncio.sleep(0.005)


async def _through_worker(
    env: BenchEnv,
    n: int,
    producers: int,
    command: Sequence[str] | None,
    open_writer: Callable[[str], Awaitable[tuple[Callable[[int], Awaitable[object]], Any]]],
) -> Throughput:
    await env.reset_store()
    queue = unique_name("chatmem:bench")
    keys = QueueKeys(queue)
    worker = env.start_worker(queue, *([command] if command else []))
    redis = aioredis.Redis.from_url(env.redis_url)
    write, closer = await open_writer(queue)
    try:
        meter = await cpu_meter(env, redis, worker.process.pid)
        before = await env.xact_commits()
        meter.start()
        started = time.perf_counter()
        latencies = await run_producers(n, producers, write)
        await wait_drained(redis, keys.queue, keys.pending_namespaces)
        seconds = time.perf_counter() - started
        # Connections the worker's pool opened during the run count too.
        meter.join("postgres", await database_backends(env))
        meter.stop()
    finally:
        await closer()
        await redis.aclose()
        assert worker.stop() == 0, worker.log
    statements = await env.xact_commits() - before
    assert await _stored_rows(env) == n
    return Throughput(n, seconds, statements, latencies, meter.per_write_us(n))


async def cpu_meter(env: BenchEnv, redis: aioredis.Redis, worker_pid: int) -> CpuMeter:
    """CPU of the producers (this process), the worker, Redis and the database's backends."""
    info = await redis.info("server")
    return CpuMeter(
        {
            "producers": {os.getpid()},
            "worker": {worker_pid},
            "redis": {int(info["process_id"])},
            "postgres": set(await database_backends(env)),
        }
    )


async def database_backends(env: BenchEnv) -> list[int]:
    """Process ids of the backends connected to the benchmark's database (but this one)."""
    conn = await asyncpg.connect(env.database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


async def naive_arq(env: BenchEnv, n: int, producers: int) -> Throughput:
    """(b) One arq job per write (arq's enqueue_job), one single-row upsert per job."""
    writes = bench_writes(n)

    async def open_writer(queue: str) -> tuple[Callable[[int], Awaitable[object]], Any]:
        pool = arq_pool(env.redis_url, queue)

        async def write(i: int) -> object:
            return await pool.enqueue_job(NAIVE_FUNCTION, orjson.loads(encode_op(writes[i])))

        return write, pool.aclose

    return await _through_worker(env, n, producers, (*NAIVE_WORKER, "--naive-worker"), open_writer)


async def open_queued_store(
    env: BenchEnv, queue: str
) -> tuple[QueuedStore, Callable[[], Awaitable[None]]]:
    """The queued store on the benchmark's servers and ``queue``, and how to close it."""
    stack = contextlib.AsyncExitStack()
    store = await stack.enter_async_context(
        QueuedStore.from_url(
            env.redis_url, env.database_url, queue_name=queue, sweep=False, max_pool_size=2
        )
    )
    return store, stack.aclose


async def queued_store(env: BenchEnv, n: int, producers: int) -> Throughput:
    """(d) Puts through the queued store's producer, persisted by one worker process."""

    async def open_writer(queue: str) -> tuple[Callable[[int], Awaitable[object]], Any]:
        store, close = await open_queued_store(env, queue)

        async def write(i: int) -> object:
            return await store.aput(*bench_item(i))

        return write, close

    return await _through_worker(env, n, producers, None, open_writer)


async def postgres_store_direct(env: BenchEnv, n: int, producers: int) -> Throughput:
    """(c) PostgresStore puts straight to PostgreSQL, ``producers`` concurrent writers."""
    await env.reset_store()
    async with PostgresStore.from_url(env.database_url, sweep=False) as store:
        before = await env.xact_commits()
        started = time.perf_counter()
        latencies = await run_producers(n, producers, lambda i: store.aput(*bench_item(i)))
        seconds = time.perf_counter() - started
    statements = await env.xact_commits() - before
    assert await _stored_rows(env) == n
    return Throughput(n, seconds, statements, latencies)
