"""StoreWorker claims jobs by arq's rule, in one call per poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from arq import Retry
from arq.connections import ArqRedis
from arq.worker import func

from infra.stores.jobs import deserialize_job, serialize_job
from infra.stores.keys import QueueKeys
from worker.arq_worker import StoreWorker
from worker.settings import arq_pool

ran: list[str] = []


async def record(ctx: dict[str, Any], name: str) -> None:
    ran.append(name)


@pytest.fixture
async def pool(redis_url: str, keys: QueueKeys) -> AsyncIterator[ArqRedis]:
    pool = arq_pool(redis_url, keys.queue)
    yield pool
    await pool.aclose()


def store_worker(
    pool: ArqRedis, keys: QueueKeys, *, functions: list[Any] | None = None, **options: Any
) -> StoreWorker:
    return StoreWorker(
        functions=functions or [func(record, name="record")],
        redis_pool=pool,
        queue_name=keys.queue,
        handle_signals=False,
        keep_result=0,
        job_serializer=serialize_job,
        job_deserializer=deserialize_job,
        **options,
    )


async def test_only_queued_due_jobs_no_other_worker_holds_are_started(
    pool: ArqRedis, keys: QueueKeys
) -> None:
    ran.clear()
    due = await pool.enqueue_job("record", "due")
    held = await pool.enqueue_job("record", "held")
    later = await pool.enqueue_job("record", "later", _defer_by=timedelta(minutes=5))
    assert due is not None
    assert held is not None
    assert later is not None
    await pool.set(QueueKeys.in_progress(held.job_id), b"1")  # another worker runs it
    worker = store_worker(pool, keys)
    ids = [due.job_id, held.job_id, later.job_id, "finished-and-gone"]
    await worker.start_jobs([job_id.encode() for job_id in ids])
    assert set(worker.tasks) == {due.job_id}
    await asyncio.gather(*worker.tasks.values())
    assert ran == ["due"]
    assert worker.job_counter == 0
    assert set(await pool.zrange(keys.queue, 0, -1)) == {
        held.job_id.encode(),
        later.job_id.encode(),
    }


async def test_no_more_jobs_start_than_free_slots(pool: ArqRedis, keys: QueueKeys) -> None:
    ran.clear()
    jobs = [await pool.enqueue_job("record", f"j{i}") for i in range(5)]
    worker = store_worker(pool, keys, max_jobs=2)
    await worker.start_jobs([job.job_id.encode() for job in jobs if job])
    assert len(worker.tasks) == 2
    started = list(worker.tasks)
    assert await pool.exists(*[QueueKeys.in_progress(job_id) for job_id in started]) == 2
    await asyncio.gather(*worker.tasks.values())


async def test_a_poll_while_redis_is_away_waits_instead_of_ending_the_worker(
    keys: QueueKeys,
) -> None:
    pool = arq_pool("redis://127.0.0.1:1/0", keys.queue)  # nothing listens there
    worker = store_worker(pool, keys)
    try:
        await worker._poll_iteration()
        await worker._poll_iteration()
        assert worker._outage_polls == 2
    finally:
        await pool.aclose()


async def test_marks_of_claims_whose_reply_was_lost_are_released_when_redis_answers(
    pool: ArqRedis, keys: QueueKeys
) -> None:
    ran.clear()
    ours = await pool.enqueue_job("record", "ours")
    theirs = await pool.enqueue_job("record", "theirs")
    assert ours is not None
    assert theirs is not None
    worker = store_worker(pool, keys, poll_delay=0)
    # The claim script ran for both, but its reply never came back; another
    # worker has claimed the second job since.
    await pool.set(QueueKeys.in_progress(ours.job_id), worker._token)
    await pool.set(QueueKeys.in_progress(theirs.job_id), "another worker's token")
    worker._unsettled.update({ours.job_id, theirs.job_id})
    await worker._poll_iteration()
    await asyncio.gather(*worker.tasks.values())
    assert ran == ["ours"]
    assert await pool.get(QueueKeys.in_progress(theirs.job_id)) == b"another worker's token"
    assert worker._unsettled == set()


async def test_a_stopping_worker_releases_the_marks_of_jobs_it_claimed_but_did_not_run(
    redis_url: str, keys: QueueKeys
) -> None:
    pool = arq_pool(redis_url, keys.queue)
    job = await pool.enqueue_job("record", "cut off")
    assert job is not None
    worker = store_worker(pool, keys)
    await pool.set(QueueKeys.in_progress(job.job_id), worker._token)
    worker._unsettled.add(job.job_id)  # as a stop arriving during the claim leaves it
    await worker.close()
    check = arq_pool(redis_url, keys.queue)
    try:
        assert await check.exists(QueueKeys.in_progress(job.job_id)) == 0
    finally:
        await check.aclose()


async def test_jobs_completing_together_leave_no_key_behind(
    pool: ArqRedis, keys: QueueKeys
) -> None:
    ran.clear()
    jobs = [await pool.enqueue_job("record", f"j{i}") for i in range(20)]
    job_ids = [job.job_id for job in jobs if job]
    worker = store_worker(pool, keys, max_jobs=20)
    await worker.start_jobs([job_id.encode() for job_id in job_ids])
    await asyncio.gather(*worker.tasks.values())
    assert sorted(ran) == sorted(f"j{i}" for i in range(20))
    assert await pool.zcard(keys.queue) == 0
    leftovers = [
        key(job_id)
        for job_id in job_ids
        for key in (QueueKeys.job, QueueKeys.in_progress, QueueKeys.retry)
    ]
    assert await pool.exists(*leftovers) == 0
    assert worker.jobs_complete == 20


async def test_a_retried_job_keeps_its_keys_and_comes_back_later(
    pool: ArqRedis, keys: QueueKeys
) -> None:
    async def retry_once(ctx: dict[str, Any]) -> None:
        raise Retry(defer=60)

    job = await pool.enqueue_job("retry_once")
    assert job is not None
    worker = store_worker(pool, keys, functions=[func(retry_once, name="retry_once")])
    await worker.start_jobs([job.job_id.encode()])
    await asyncio.gather(*worker.tasks.values())
    assert await pool.exists(QueueKeys.job(job.job_id)) == 1
    score = await pool.zscore(keys.queue, job.job_id)
    assert score is not None
    assert worker.jobs_retried == 1


async def test_tries_are_counted_as_arq_counts_them(pool: ArqRedis, keys: QueueKeys) -> None:
    tries: list[int] = []

    async def fail_twice(ctx: dict[str, Any]) -> None:
        tries.append(ctx["job_try"])
        if len(tries) < 3:
            raise Retry(defer=0)

    job = await pool.enqueue_job("fail_twice")
    assert job is not None
    worker = store_worker(pool, keys, functions=[func(fail_twice, name="fail_twice")])
    for _ in range(3):
        await worker.start_jobs([job.job_id.encode()])
        await asyncio.gather(*worker.tasks.values())
        worker.tasks.clear()
    assert tries == [1, 2, 3]
    assert await pool.exists(QueueKeys.job(job.job_id), QueueKeys.retry(job.job_id)) == 0


async def test_a_claimed_job_whose_payload_vanished_leaves_the_queue_without_running(
    pool: ArqRedis, keys: QueueKeys
) -> None:
    ran.clear()
    job = await pool.enqueue_job("record", "gone")
    assert job is not None
    await pool.delete(QueueKeys.job(job.job_id))
    worker = store_worker(pool, keys)
    await worker.start_jobs([job.job_id.encode()])
    await asyncio.gather(*worker.tasks.values())
    assert ran == []
    assert await pool.zcard(keys.queue) == 0
