"""Worker processes persist queued writes, and apply each write's effect exactly once."""

from __future__ import annotations

import asyncio
import random
import shlex

import asyncpg
import orjson
import pytest
import redis

from infra.stores.jobs import FUNCTION_NAME, MAX_VERSION
from infra.stores.producer import encode_delete, encode_put
from infra.stores.queued import QueuedStore
from tests.e2e.conftest import StartWorker
from tests.e2e.queue import NS, Queue
from tests.e2e.test_cli import chatmem
from tests.e2e.workers import ROOT

pytestmark = pytest.mark.slow


async def test_a_queued_write_is_persisted_and_its_pending_entry_cleared(
    queue: Queue, workers: StartWorker
) -> None:
    job = await queue.put("k", {"v": 1, "tags": []})
    worker = workers()
    await queue.wait_done(job)
    row = await queue.row("k")
    assert row is not None
    assert orjson.loads(row["value"]) == {"v": 1, "tags": []}
    assert await queue.redis.redis.exists(queue.keys.pending_entries("users.u1")) == 0
    assert "store_writes_persisted" in worker.log
    assert worker.stop() == 0


async def test_a_job_run_twice_changes_nothing_the_second_time(
    queue: Queue, workers: StartWorker
) -> None:
    job = await queue.put("k", {"v": 1})
    payload = await queue.job_bytes(job)
    workers()
    await queue.wait_done(job)
    first = await queue.row("k")
    await queue.wait_done(await queue.enqueue_raw(payload))
    again = await queue.row("k")
    assert first is not None
    assert again == first  # same value, version and row version (xmin): not even rewritten


async def test_an_older_write_retried_after_a_newer_one_changes_nothing(
    queue: Queue, workers: StartWorker
) -> None:
    older = await queue.job_bytes(await queue.put("k", {"v": "older"}))
    await queue.redis.redis.delete(*[queue.keys.job(j) for j in await queue.job_ids()])
    await queue.redis.redis.delete(queue.keys.queue)
    newer = await queue.put("k", {"v": "newer"})
    workers()
    await queue.wait_done(newer)
    await queue.wait_done(await queue.enqueue_raw(older))
    row = await queue.row("k")
    assert row is not None
    assert orjson.loads(row["value"]) == {"v": "newer"}


async def test_a_late_put_never_resurrects_a_delete(queue: Queue, workers: StartWorker) -> None:
    put = await queue.job_bytes(await queue.put("k", {"v": 1}))
    await queue.producer.submit(encode_delete(NS, "k"))
    jobs = await queue.job_ids()
    workers()
    await queue.wait_done(*jobs)
    await queue.wait_done(await queue.enqueue_raw(put))
    row = await queue.row("k")
    assert row is not None
    assert row["value"] is None  # a tombstone, newer than the put


async def test_a_job_written_by_hand_in_the_documented_format_is_persisted(
    queue: Queue, workers: StartWorker
) -> None:
    ops = [
        {"op": "put", "namespace": ["users", "u9"], "key": "a", "value": {"x": []}, "ttl": 60,
         "version": 1_700_000_000_000_001, "written_at": 1_700_000_000_000_000},
        {"op": "delete", "namespace": ["users", "u9"], "key": "b", "value": None, "ttl": None,
         "version": 1_700_000_000_000_002, "written_at": 1_700_000_000_000_000},
    ]  # fmt: skip
    job = {"t": None, "f": FUNCTION_NAME, "a": [ops], "k": {}, "et": 1_700_000_000_000}
    workers()
    await queue.wait_done(await queue.enqueue_raw(orjson.dumps(job)))
    row = await queue.row("a")
    assert row is not None
    assert (orjson.loads(row["value"]), row["version"]) == ({"x": []}, 1_700_000_000_000_001)


async def test_a_malformed_job_is_dead_lettered_never_run_and_the_worker_goes_on(
    queue: Queue, workers: StartWorker
) -> None:
    bad_op = {"op": "put", "namespace": ["a"], "key": "k", "value": {}, "ttl": None}
    bad = {"t": None, "f": FUNCTION_NAME, "a": [[{**bad_op, "version": MAX_VERSION + 1}]]}
    worker = workers()
    refused = await queue.enqueue_raw(orjson.dumps({**bad, "k": {}, "et": 1}))
    not_json = await queue.enqueue_raw(b"\x80\x04\x95 not json")
    await queue.wait_done(refused, not_json)
    good = await queue.put("k", {"v": 1})
    await queue.wait_done(good)
    assert await queue.row("k") is not None
    dead = [f for _, f in await queue.redis.redis.xrange(queue.keys.dead_letters)]
    assert sorted(f[b"kind"] for f in dead) == [b"invalid", b"malformed"]
    assert "store_job_dead_lettered" in worker.log
    assert worker.process.poll() is None


async def test_sigterm_stops_cleanly_and_a_new_worker_persists_the_rest(
    queue: Queue, workers: StartWorker
) -> None:
    worker = workers()
    await asyncio.gather(
        *(queue.producer.submit(encode_put(NS, f"k{i}", {"i": i}, None)) for i in range(300))
    )
    assert worker.stop() == 0
    assert "worker_stopped" in worker.log
    workers()
    await queue.wait_done(*await queue.job_ids())
    conn = await asyncpg.connect(queue.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM chatmem_store") == 300
    finally:
        await conn.close()


def test_a_worker_whose_redis_does_not_answer_says_so_and_exits_1(database_url: str) -> None:
    unreachable = "redis://:hunter2@127.0.0.1:1/0"
    result = chatmem("worker", env={"REDIS_URL": unreachable, "DATABASE_URL": database_url})
    assert result.returncode == 1
    assert "Redis at REDIS_URL=redis://:***@127.0.0.1:1/0 is unavailable" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def readme_job_commands(queue: str) -> list[list[str]]:
    """The redis-cli commands of the README's job contract example, for ``queue``."""
    text = (ROOT / "README.md").read_text()
    block = text.split("```\nEVAL", 1)[1].split("```", 1)[0]
    lines = ("EVAL" + block).replace("chatmem:queue", queue).splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.startswith("#")]


async def test_the_readme_job_contract_example_is_persisted(
    queue: Queue, workers: StartWorker, worker_env: dict[str, str]
) -> None:
    client = redis.Redis.from_url(worker_env["REDIS_URL"], single_connection_client=True)
    try:
        # Raw, as redis-cli sends them: no client-side reply parsing inside MULTI.
        assert client.connection is not None
        for command in readme_job_commands(queue.keys.queue):
            client.connection.send_command(*command)
            client.connection.read_response()
    finally:
        client.close()
    assert await queue.redis.redis.hget(queue.keys.pending_entries("users.u1"), "prefs")
    workers()
    await queue.wait_done(*await queue.job_ids())
    row = await queue.row("prefs")
    assert row is not None
    assert orjson.loads(row["value"]) == {"lang": "en", "tags": []}
    assert await queue.redis.redis.exists(queue.keys.pending_entries("users.u1")) == 0


async def test_a_write_postgresql_refuses_is_dead_lettered_and_the_others_persist(
    queue: Queue, workers: StartWorker
) -> None:
    rng = random.Random(7)
    # Valid by the store rules, too large for the primary key's index entry.
    poison_key = "".join(chr(rng.randint(0x10000, 0x3FFFF)) for _ in range(1000))
    await queue.producer.submit(encode_put(NS, "before", {"v": 1}, None))
    await queue.producer.submit(encode_put(NS, poison_key, {"v": 2}, None))
    await queue.producer.submit(encode_put(NS, "after", {"v": 3}, None))
    worker = workers()
    await queue.wait_done(*await queue.job_ids())
    assert await queue.row("before") is not None
    assert await queue.row("after") is not None
    assert await queue.redis.redis.xlen(queue.keys.dead_letters) == 1
    assert "store_write_dead_lettered" in worker.log
    assert worker.process.poll() is None


async def test_queued_store_reads_its_writes_before_and_after_a_worker_persists_them(
    queue: Queue, workers: StartWorker, worker_env: dict[str, str]
) -> None:
    async with QueuedStore.from_url(
        worker_env["REDIS_URL"], worker_env["DATABASE_URL"], queue_name=queue.keys.queue
    ) as store:
        await store.setup()
        await store.aput(NS, "prefs", {"lang": "en"})
        await store.aput(NS, "old", {"v": 1})
        await store.adelete(NS, "old")
        before = await store.aget(NS, "prefs")
        assert before is not None
        assert await store.aget(NS, "old") is None
        workers()
        await queue.wait_done(*await queue.job_ids())
        assert await store.aget(NS, "prefs") == before
        assert await store.aget(NS, "old") is None
        assert await queue.redis.redis.zcard(queue.keys.pending_namespaces) == 0
        assert await store.postgres.aget(NS, "prefs") == before
