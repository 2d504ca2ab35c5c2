"""`chatmem worker --metrics-port`: Prometheus figures scraped over HTTP from a worker process."""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.queue_stats import dead_letters_key
from infra.stores.queued import QueuedStore
from tests.e2e.test_cli import chatmem
from tests.e2e.workers import WORKER_COMMAND, WorkerProcess, start_worker

pytestmark = pytest.mark.slow
WRITES = 400
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metrics_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    """A worker serving metrics on a free port it picks itself (--metrics-port 0)."""
    command = (*WORKER_COMMAND, "--metrics-port", "0")
    worker = start_worker(worker_env, tmp_path / "worker.log", command=command)
    yield worker
    if worker.process.poll() is None:
        worker.stop(signal.SIGKILL)


def metrics_port(worker: WorkerProcess) -> int:
    """The port the worker logged in its metrics_served line."""
    for line in worker.log.splitlines():
        if '"metrics_served"' in line:
            return int(orjson.loads(line)["port"])
    raise AssertionError(f"no metrics_served line in:\n{worker.log}")


def scrape(port: int) -> Samples:
    """Every sample of /metrics, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _persisted(port: int, writes: int) -> Samples:
    deadline = time.monotonic() + 30
    while True:
        samples = await asyncio.to_thread(scrape, port)
        if samples.get(("chatmem_store_writes_persisted_total", ()), 0) >= writes:
            return samples
        assert time.monotonic() < deadline, f"writes not persisted in time: {samples}"
        await asyncio.sleep(0.1)


async def test_scraped_counters_follow_the_writes_the_worker_persists(
    metrics_worker: WorkerProcess, worker_env: dict[str, str]
) -> None:
    port = metrics_port(metrics_worker)
    queue = {"queue": worker_env["QUEUE_NAME"]}
    labels = tuple(queue.items())
    idle = await asyncio.to_thread(scrape, port)
    assert idle[("chatmem_store_writes_persisted_total", ())] == 0
    assert idle[("chatmem_queue_worker_seen", labels)] == 1

    async with QueuedStore.from_url(
        worker_env["REDIS_URL"], worker_env["DATABASE_URL"], queue_name=queue["queue"]
    ) as store:
        await asyncio.gather(
            *(store.aput(("users", f"u{i % 5}"), f"k{i}", {"i": i}) for i in range(WRITES))
        )
    samples = await _persisted(port, WRITES)

    assert samples[("chatmem_store_writes_persisted_total", ())] == WRITES
    assert samples[("chatmem_store_rows_changed_total", ())] == WRITES
    commits = samples[("chatmem_group_commit_writes_count", ())]
    assert 1 <= commits < WRITES  # grouped: fewer commits than writes
    assert samples[("chatmem_group_commit_writes_sum", ())] == WRITES
    assert samples[("chatmem_group_commit_seconds_count", ())] == commits
    assert samples[("chatmem_jobs_completed_total", ())] >= 1
    assert samples[("chatmem_jobs_failed_total", ())] == 0
    assert samples[("chatmem_queue_stats_up", labels)] == 1
    conn = await asyncpg.connect(worker_env["DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT count(*) FROM chatmem_store") == WRITES
    finally:
        await conn.close()

    # The queue gauges are read from Redis at each scrape.
    redis = RedisClient.from_url(worker_env["REDIS_URL"])
    try:
        keys = QueueKeys(queue["queue"])
        await redis.redis.xadd(dead_letters_key(keys), {"op": "{}", "error": "refused"})
        future_ms = (int((await redis.redis.time())[0]) + 600) * 1000
        await redis.redis.zadd(keys.queue, {"a-job-awaiting-its-retry": future_ms})
        later = await asyncio.to_thread(scrape, port)
    finally:
        await redis.aclose()
    assert later[("chatmem_queue_dead_letters", labels)] == 1
    assert later[("chatmem_queue_jobs", labels)] == 1
    assert later[("chatmem_queue_jobs_deferred", labels)] == 1
    assert later[("chatmem_queue_pending_writes", labels)] == 0

    assert metrics_worker.stop() == 0


def test_a_metrics_port_in_use_stops_the_worker_with_a_clear_error(
    worker_env: dict[str, str], metrics_worker: WorkerProcess
) -> None:
    port = str(metrics_port(metrics_worker))
    result = chatmem("worker", "--metrics-port", port, env=worker_env)
    assert result.returncode == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
