"""A single producer's enqueue latency against its floor (PING) and langgraph's put."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langgraph.store.postgres.aio import AsyncPostgresStore

from bench.support.queue_bench import BenchEnv, percentile
from bench.support.scenarios import bench_item, open_queued_store
from tests.support import unique_name

SAMPLES = 2000
WARMUP = 200


@dataclass
class SingleProducer:
    """Median and tail latencies of one producer, in milliseconds."""

    ping_p50_ms: float
    enqueue_p50_ms: float
    enqueue_p99_ms: float
    langgraph_p50_ms: float


async def _timed(call: Callable[..., Awaitable[object]], *args: object) -> float:
    started = time.perf_counter()
    await call(*args)
    return (time.perf_counter() - started) * 1000


async def single_producer(
    env: BenchEnv, *, with_worker: bool, samples: int = SAMPLES
) -> SingleProducer:
    """Interleave PING, enqueue and langgraph put, one at a time, ``samples`` of each."""
    queue = unique_name("chatmem:bench-single")
    worker = env.start_worker(queue) if with_worker else None
    store, close = await open_queued_store(env, queue)
    ping: list[float] = []
    enqueue: list[float] = []
    langgraph: list[float] = []
    try:
        async with AsyncPostgresStore.from_conn_string(env.database_url) as theirs:
            await theirs.setup()
            for i in range(WARMUP + samples):
                item = bench_item(i)
                timings = (
                    await _timed(store.redis.redis.ping),
                    await _timed(store.aput, *item),
                    await _timed(theirs.aput, *item),
                )
                if i >= WARMUP:
                    for samples, ms in zip((ping, enqueue, langgraph), timings, strict=True):
                        samples.append(ms)
    finally:
        await close()
        if worker is not None:
            assert worker.stop() == 0, worker.log
    return SingleProducer(
        ping_p50_ms=percentile(ping, 50),
        enqueue_p50_ms=percentile(enqueue, 50),
        enqueue_p99_ms=percentile(enqueue, 99),
        langgraph_p50_ms=percentile(langgraph, 50),
    )
