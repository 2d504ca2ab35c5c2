"""What a load test leaves behind, removed: its rows in PostgreSQL, its queue's keys in Redis."""

from __future__ import annotations

import asyncpg

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from worker.loadtest.workload import namespace_prefix, prefix_range

DELETE_ROWS = "DELETE FROM chatmem_store WHERE namespace >= $1 AND namespace < $2"
HEALTH_CHECK_SUFFIX = ":health-check"


async def delete_rows(database_url: str, tag: str) -> int:
    """Delete the run's rows (its users' namespaces only); how many there were."""
    conn = await asyncpg.connect(database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass('chatmem_store') IS NOT NULL")
        if not exists:
            return 0
        status = await conn.execute(DELETE_ROWS, *prefix_range(namespace_prefix(tag)))
        return int(status.rsplit(" ", 1)[1])
    finally:
        await conn.close()


async def delete_queue(redis: RedisClient, keys: QueueKeys, tag: str) -> None:
    """Remove a queue the run made for itself, with any job or pending write left in it."""
    client = redis.redis
    job_ids = [j.decode() for j in await client.zrange(keys.queue, 0, -1)]
    low, high = prefix_range(namespace_prefix(tag))
    namespaces = [
        n.decode() for n in await client.zrangebylex(keys.pending_namespaces, f"[{low}", f"({high}")
    ]
    doomed = [
        keys.queue,
        keys.version_counter,
        keys.pending_namespaces,
        keys.queue + HEALTH_CHECK_SUFFIX,
        *(keys.pending_entries(n) for n in namespaces),
        *(k for j in job_ids for k in (keys.job(j), keys.in_progress(j), keys.retry(j))),
    ]
    for start in range(0, len(doomed), 1000):
        await client.delete(*doomed[start : start + 1000])
