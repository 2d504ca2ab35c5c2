"""PostgreSQL and Redis go away and come back: chat turns go on, every write lands."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from domain.errors import ServiceUnavailableError
from infra.stores.keys import QueueKeys
from infra.stores.queued import QueuedStore
from tests.e2e.conftest import StartWorker
from tests.e2e.load import NS, Load, drained, mismatches, stored
from tests.e2e.servers import OwnedValkey, owned_postgres, owned_valkey
from tests.e2e.test_cli import chatmem
from tests.e2e.workers import logged_count, spawn_worker, wait_logged

pytestmark = pytest.mark.slow

# Retries every second at most, so the test does not wait out the production backoff.
QUICK_RETRIES = {"WORKER_RETRY_BASE": "0.1", "WORKER_RETRY_MAX": "1"}


async def dead_letters(redis_url: str, keys: QueueKeys) -> int:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return int(await client.xlen(keys.dead_letters))
    finally:
        await client.aclose()


async def test_postgresql_restarting_during_a_load_delays_writes_and_loses_none(
    workers: StartWorker, worker_env: dict[str, str]
) -> None:
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    with owned_postgres() as postgres:
        worker = workers(DATABASE_URL=postgres.url, **QUICK_RETRIES)
        async with QueuedStore.from_url(
            worker_env["REDIS_URL"], postgres.url, queue_name=keys.queue
        ) as store:
            load = Load(store)
            writing = asyncio.create_task(load.run(3000, pause_s=0.004))
            await load.until_acked(800)
            await asyncio.to_thread(postgres.stop)
            await wait_logged(worker, "store_writes_retried")
            # Chat turns go on: writes need only Redis.
            await load.until_acked(load.acked + 500)
            await asyncio.to_thread(postgres.start)
            await writing
        await drained(worker_env["REDIS_URL"], keys)
        assert not mismatches(load, await stored(postgres.url))
    assert load.refused == 0
    assert await dead_letters(worker_env["REDIS_URL"], keys) == 0
    assert worker.process.poll() is None


async def test_writes_queued_before_a_redis_crash_survive_it_and_are_persisted(
    workers: StartWorker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    with owned_valkey(tmp_path) as valkey:
        async with QueuedStore.from_url(
            valkey.url, worker_env["DATABASE_URL"], queue_name=keys.queue
        ) as store:
            load = Load(store)
            await load.run(1600)
        valkey.crash()
        valkey.start()
        workers(REDIS_URL=valkey.url)
        await drained(valkey.url, keys)
    assert load.acked == 1600
    assert not mismatches(load, await stored(worker_env["DATABASE_URL"]))


async def test_a_worker_rides_out_a_redis_outage_and_goes_on_when_it_returns(
    workers: StartWorker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    with owned_valkey(tmp_path) as valkey:
        worker = workers(REDIS_URL=valkey.url)
        async with QueuedStore.from_url(
            valkey.url, worker_env["DATABASE_URL"], queue_name=keys.queue
        ) as store:
            load = Load(store)
            await load.run(320)  # and crash while the worker is busy with it
            outages = logged_count(worker, "worker_redis_unavailable")
            valkey.crash()
            await wait_logged(worker, "worker_redis_unavailable", times=outages + 1)
            with pytest.raises(ServiceUnavailableError, match=r"^Redis at unix://"):
                await store.aput(NS, "refused", {"v": 1})  # not accepted, and said at once
            valkey.start()
            await wait_logged(worker, "worker_redis_restored", times=outages + 1)
            await load.run(320)
            await drained(valkey.url, keys)
        assert worker.process.poll() is None
        assert worker.stop() == 0
    assert not mismatches(load, await stored(worker_env["DATABASE_URL"]))


async def test_a_worker_started_before_its_redis_waits_for_it_then_persists(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    valkey = OwnedValkey(tmp_path / "valkey")  # not started: the worker comes up first
    env = {**worker_env, "REDIS_URL": valkey.url, "WORKER_STARTUP_WAIT": "60"}
    # Not waited for: its Redis does not answer yet.
    worker = await asyncio.to_thread(spawn_worker, env, tmp_path / "worker.log")
    process = worker.process
    started = False
    try:
        await wait_logged(worker, "worker_waiting_for_services", times=2)
        assert logged_count(worker, "worker_started") == 0
        assert "Redis" in worker.log
        valkey.start()
        started = True
        await wait_logged(worker, "worker_started")
        async with QueuedStore.from_url(
            valkey.url, worker_env["DATABASE_URL"], queue_name=keys.queue
        ) as store:
            load = Load(store)
            await load.run(200)
        await drained(valkey.url, keys)
        assert worker.stop() == 0
    finally:
        if process.poll() is None:
            worker.stop(signal.SIGKILL)
        if started:
            valkey.stop()
    assert not mismatches(load, await stored(worker_env["DATABASE_URL"]))


def test_without_a_startup_wait_a_worker_whose_postgresql_does_not_answer_exits_1(
    worker_env: dict[str, str],
) -> None:
    env = {**worker_env, "DATABASE_URL": "postgresql://chatmem:pw@127.0.0.1:1/chatmem"}
    result = chatmem("worker", env=env)
    assert result.returncode == 1
    assert "PostgreSQL" in result.stderr
    assert "worker_waiting_for_services" not in result.stderr + result.stdout
