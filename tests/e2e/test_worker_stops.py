"""A worker killed or stopped during a load loses nothing and applies nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from infra.stores.keys import QueueKeys
from infra.stores.queued import QueuedStore
from tests.e2e.conftest import StartWorker
from tests.e2e.load import Load, drained, mismatches, stored
from tests.e2e.workers import WorkerProcess

pytestmark = pytest.mark.slow

# A crashed worker's jobs come back after the job timeout + 10 s: 12 s here, 40 s by default.
SHORT_JOB_TIMEOUT = {"WORKER_JOB_TIMEOUT": "2"}


@pytest.fixture
async def store(worker_env: dict[str, str]) -> AsyncIterator[QueuedStore]:
    async with QueuedStore.from_url(
        worker_env["REDIS_URL"], worker_env["DATABASE_URL"], queue_name=worker_env["QUEUE_NAME"]
    ) as store:
        yield store


async def in_progress(redis_url: str) -> list[bytes]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return list(await client.keys("arq:in-progress:*"))  # the test's own Redis database
    finally:
        await client.aclose()


async def freeze_with_jobs_in_flight(worker: WorkerProcess, redis_url: str) -> list[bytes]:
    """SIGSTOP the worker at a moment it holds jobs; their in-progress keys."""
    for _ in range(1000):
        os.kill(worker.process.pid, signal.SIGSTOP)
        held = await in_progress(redis_url)
        if held:
            return held
        os.kill(worker.process.pid, signal.SIGCONT)
        await asyncio.sleep(0.002)
    raise AssertionError("the worker never held a job")


async def test_a_worker_killed_mid_batch_loses_nothing_and_every_key_ends_at_its_last_write(
    store: QueuedStore, workers: StartWorker, worker_env: dict[str, str]
) -> None:
    redis_url = worker_env["REDIS_URL"]
    first = workers(**SHORT_JOB_TIMEOUT)
    load = Load(store)
    writing = asyncio.create_task(load.run(4000, pause_s=0.002))
    await load.until_acked(1200)
    orphans = await freeze_with_jobs_in_flight(first, redis_url)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    workers(**SHORT_JOB_TIMEOUT)
    await writing
    await drained(redis_url, store.keys)
    assert not mismatches(load, await stored(worker_env["DATABASE_URL"]))
    assert load.acked == 4000
    # The killed worker's jobs ran again, on the restarted one.
    client = aioredis.Redis.from_url(redis_url)
    try:
        job_keys = [QueueKeys.job(key.decode().rsplit(":", 1)[1]) for key in orphans]
        assert await client.exists(*job_keys) == 0
        assert await client.xlen(store.keys.dead_letters) == 0
    finally:
        await client.aclose()


async def test_sigterm_commits_what_is_in_flight_and_exits_0_within_10_s(
    store: QueuedStore, workers: StartWorker, worker_env: dict[str, str]
) -> None:
    worker = workers()
    load = Load(store)
    writing = asyncio.create_task(load.run(3000, pause_s=0.002))
    await load.until_acked(1000)
    worker.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.process.wait, 10) == 0
    assert '"event":"worker_stopped"' in worker.log
    # Nothing was abandoned mid-run: no job is left waiting for an in-progress key to expire.
    assert await in_progress(worker_env["REDIS_URL"]) == []
    await writing  # chat turns went on while no worker ran
    workers()
    await drained(worker_env["REDIS_URL"], store.keys)
    assert not mismatches(load, await stored(worker_env["DATABASE_URL"]))
