"""The queue's figures read from a real Redis holding a queue state the test sets up."""

from __future__ import annotations

import pytest

from domain.errors import ServiceUnavailableError
from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.queue_stats import read_queue_stats
from tests.queue_state import queue_jobs, seed_queue_state

INTERVAL = 10.0


async def test_figures_of_a_queue_with_every_kind_of_state(
    redis: RedisClient, keys: QueueKeys
) -> None:
    await seed_queue_state(redis, keys)

    stats = await read_queue_stats(
        redis.redis, keys, health_check_interval=INTERVAL, by_namespace=True
    )

    assert (stats.queued, stats.due, stats.deferred) == (7, 6, 1)
    assert (stats.in_progress, stats.in_progress_exact) == (2, True)
    assert stats.oldest_job_age_s is not None
    assert 59 <= stats.oldest_job_age_s <= 70
    # The delete leaves a pending entry too: it hides the stored item until committed.
    assert (stats.pending_entries, stats.pending_namespaces, stats.pending_exact) == (7, 3, True)
    assert stats.pending_by_namespace == {"notes": 1, "users.u1": 5, "users.u2": 1}
    assert stats.dead_letters == 1
    worker = stats.worker
    assert worker.seen
    assert worker.recorded_at == "Nov-26 03:14:40"
    assert worker.age_s is not None
    assert 1.9 <= worker.age_s <= 3
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (120, 2, 3)
    assert (worker.jobs_ongoing, worker.queued) == (4, 7)


async def test_an_empty_queue_has_zero_figures_and_no_worker(
    redis: RedisClient, keys: QueueKeys
) -> None:
    stats = await read_queue_stats(redis.redis, keys, health_check_interval=INTERVAL)
    figures = stats.as_json()
    assert figures["jobs"] == {
        "queued": 0,
        "due": 0,
        "deferred": 0,
        "in_progress": 0,
        "in_progress_exact": True,
        "oldest_age_s": None,
    }
    assert figures["pending"] == {
        "entries": 0,
        "namespaces": 0,
        "exact": True,
        "by_namespace": None,
    }
    assert figures["dead_letters"] == 0  # no stream at all counts as none
    assert figures["worker"]["seen"] is False
    assert "no health-check key" in figures["worker"]["reason"]


async def test_past_the_scan_limit_counts_are_lower_bounds_marked_inexact(
    redis: RedisClient, keys: QueueKeys
) -> None:
    job_ids = await queue_jobs(redis, keys)
    for job_id in job_ids:
        await redis.redis.set(keys.in_progress(job_id), b"1", px=40_000)

    stats = await read_queue_stats(
        redis.redis, keys, health_check_interval=INTERVAL, scan_limit=2, by_namespace=True
    )

    assert (stats.queued, stats.due) == (7, 7)
    assert (stats.in_progress, stats.in_progress_exact) == (2, False)
    assert stats.pending_namespaces == 3
    assert not stats.pending_exact
    assert stats.pending_by_namespace is not None
    assert len(stats.pending_by_namespace) == 2  # the first two namespaces by name
    assert stats.pending_entries == sum(stats.pending_by_namespace.values())


async def test_a_queue_whose_jobs_all_await_a_retry_has_no_oldest_due_job(
    redis: RedisClient, keys: QueueKeys
) -> None:
    job_ids = await queue_jobs(redis, keys)
    now_ms = int((await redis.redis.time())[0]) * 1000
    await redis.redis.zadd(keys.queue, dict.fromkeys(job_ids, now_ms + 30_000))

    stats = await read_queue_stats(redis.redis, keys, health_check_interval=INTERVAL)

    assert (stats.queued, stats.due, stats.deferred) == (7, 0, 7)
    assert stats.oldest_job_age_s is None


async def test_unreachable_redis_names_the_target_without_its_password(keys: QueueKeys) -> None:
    client = RedisClient.from_url("redis://:hunter2@127.0.0.1:1/0", connect_timeout=0.5)
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            await read_queue_stats(
                client.redis, keys, health_check_interval=INTERVAL, target=client.safe_url
            )
    finally:
        await client.aclose()
    assert caught.value.service == "Redis"
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
