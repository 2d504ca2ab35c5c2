"""A queue state with every kind of figure ``chatmem stats`` reports, set up in a real Redis."""

from __future__ import annotations

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_delete, encode_put
from infra.stores.queue_stats import dead_letters_key
from infra.stores.worker_health import health_check_key

# arq's health-check line, as a worker with these counts writes it.
HEALTH_LINE = "Nov-26 03:14:40 j_complete=120 j_failed=2 j_retried=3 j_ongoing=4 queued=7"


async def queue_jobs(redis: RedisClient, keys: QueueKeys) -> list[str]:
    """Seven jobs: five puts to users.u1, one to users.u2, one delete in notes; their ids."""
    producer = WriteProducer(redis, keys)
    for i in range(5):
        await producer.submit(encode_put(("users", "u1"), f"k{i}", {"i": i}, None))
    await producer.submit(encode_put(("users", "u2"), "k", {"i": 0}, None))
    await producer.submit(encode_delete(("notes",), "n1"))
    await producer.aclose()
    return [m.decode() for m in await redis.redis.zrange(keys.queue, 0, -1)]


async def seed_queue_state(redis: RedisClient, keys: QueueKeys) -> None:
    """The seven jobs, two of them in progress, one deferred, the oldest a minute old,
    an in-progress mark of another queue's job, a dead letter, a fresh health-check key."""
    job_ids = await queue_jobs(redis, keys)
    now_ms = int((await redis.redis.time())[0]) * 1000
    await redis.redis.set(keys.in_progress(job_ids[1]), b"1", px=40_000)
    await redis.redis.set(keys.in_progress(job_ids[2]), b"1", px=40_000)
    await redis.redis.zadd(keys.queue, {job_ids[-1]: now_ms + 60_000})
    await redis.redis.zadd(keys.queue, {job_ids[0]: now_ms - 60_000})
    await redis.redis.set(keys.in_progress("someone-elses-job"), b"1", px=40_000)
    await redis.redis.xadd(dead_letters_key(keys), {"op": "{}", "error": "refused"})
    await redis.redis.psetex(health_check_key(keys.queue), 9_000, HEALTH_LINE.encode())
