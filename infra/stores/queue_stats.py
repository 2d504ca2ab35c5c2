"""The figures of one write queue, read from Redis: what ``chatmem stats`` and the metrics show.

Three round trips, whatever the queue holds, and no SCAN of the keyspace:

1. Redis's clock (job scores are milliseconds on it).
2. One pipeline: the queue's size and due count, its oldest score, the
   oldest ``scan_limit`` due job ids, the pending namespaces (at most
   ``scan_limit``), the dead-letter stream's length, the health-check key.
3. One pipeline: EXISTS on the in-progress keys of those job ids, and HLEN
   of those namespaces' pending hashes, in commands of 1,000 keys.

A job in progress is still in the queue (arq removes it when it finishes),
and is due: so its in-progress mark is found among the due ids. Workers
claim from the head of the due list (each reads the first 2 x
WORKER_MAX_JOBS ids of a poll), so the oldest ``scan_limit`` due ids hold
every job in progress unless more than ``scan_limit`` are; the count is
marked inexact when the queue has more due jobs than were looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domain.errors import ServiceUnavailableError
from infra.redaction import redact_text
from infra.stores.keys import QueueKeys
from infra.stores.worker_health import WorkerHealth, health_check_key, parse_health

# Version of the JSON shape; raised only when a field changes meaning or goes.
SCHEMA_VERSION = 1
DEFAULT_SCAN_LIMIT = 10_000
_KEYS_PER_COMMAND = 1_000


def dead_letters_key(keys: QueueKeys) -> str:
    """The Redis stream of a queue's dead-lettered writes."""
    return keys.dead_letters


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A snapshot of one queue; counts marked exact=False stopped at the scan limit."""

    queue: str
    read_at: datetime
    queued: int
    due: int
    in_progress: int
    in_progress_exact: bool
    oldest_job_age_s: float | None
    pending_entries: int
    pending_namespaces: int
    pending_exact: bool
    pending_by_namespace: dict[str, int] | None
    dead_letters: int
    worker: WorkerHealth

    @property
    def deferred(self) -> int:
        """Queued jobs not yet due: retries waiting for their backoff to pass."""
        return self.queued - self.due

    def as_json(self) -> dict[str, Any]:
        """The documented, stable JSON shape of ``chatmem stats --json``."""
        return {
            "schema": SCHEMA_VERSION,
            "queue": self.queue,
            "read_at": self.read_at.isoformat().replace("+00:00", "Z"),
            "jobs": {
                "queued": self.queued,
                "due": self.due,
                "deferred": self.deferred,
                "in_progress": self.in_progress,
                "in_progress_exact": self.in_progress_exact,
                "oldest_age_s": self.oldest_job_age_s,
            },
            "pending": {
                "entries": self.pending_entries,
                "namespaces": self.pending_namespaces,
                "exact": self.pending_exact,
                "by_namespace": self.pending_by_namespace,
            },
            "dead_letters": self.dead_letters,
            "worker": self.worker.as_json(),
        }


async def read_queue_stats(
    redis: aioredis.Redis,
    keys: QueueKeys,
    *,
    health_check_interval: float,
    scan_limit: int = DEFAULT_SCAN_LIMIT,
    by_namespace: bool = False,
    target: str = "Redis",
) -> QueueStats:
    """Read a queue's figures; ServiceUnavailableError naming ``target`` if Redis fails."""
    if scan_limit < 1:
        raise ValueError(f"scan_limit is at least 1; got {scan_limit}")
    try:
        return await _read(redis, keys, health_check_interval, scan_limit, by_namespace)
    except (RedisError, OSError) as exc:
        reason = redact_text(str(exc)) or type(exc).__name__
        raise ServiceUnavailableError("Redis", target, reason) from None


async def _read(
    redis: aioredis.Redis,
    keys: QueueKeys,
    interval: float,
    limit: int,
    by_namespace: bool,
) -> QueueStats:
    seconds, micros = await redis.time()
    now_ms = seconds * 1000 + micros // 1000
    health = health_check_key(keys.queue)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.queue)
        pipe.zcount(keys.queue, "-inf", now_ms)
        pipe.zrange(keys.queue, 0, 0, withscores=True)
        pipe.zrangebyscore(keys.queue, "-inf", now_ms, start=0, num=limit)
        pipe.zcard(keys.pending_namespaces)
        pipe.zrange(keys.pending_namespaces, 0, limit - 1)
        pipe.xlen(dead_letters_key(keys))
        pipe.get(health)
        pipe.pttl(health)
        (
            queued,
            due,
            head,
            due_ids,
            namespace_count,
            names,
            dead,
            raw_health,
            pttl,
        ) = await pipe.execute()
    job_ids = [keys.in_progress(m.decode()) for m in due_ids]
    namespaces = [m.decode() for m in names]
    running, entries = await _count(redis, job_ids, [keys.pending_entries(n) for n in namespaces])
    oldest = None
    if head and head[0][1] <= now_ms:
        oldest = round((now_ms - head[0][1]) / 1000, 3)
    return QueueStats(
        queue=keys.queue,
        read_at=datetime.fromtimestamp(seconds + micros / 1e6, UTC),
        queued=queued,
        due=due,
        in_progress=running,
        in_progress_exact=due <= len(job_ids),
        oldest_job_age_s=oldest,
        pending_entries=sum(entries),
        pending_namespaces=namespace_count,
        pending_exact=namespace_count <= len(namespaces),
        pending_by_namespace=dict(zip(namespaces, entries, strict=True)) if by_namespace else None,
        dead_letters=dead,
        worker=parse_health(raw_health, pttl, interval),
    )


async def _count(
    redis: aioredis.Redis, in_progress_keys: Sequence[str], pending_hashes: Sequence[str]
) -> tuple[int, list[int]]:
    """How many in-progress keys exist, and each pending hash's length: one round trip."""
    if not in_progress_keys and not pending_hashes:
        return 0, []
    async with redis.pipeline(transaction=False) as pipe:
        for start in range(0, len(in_progress_keys), _KEYS_PER_COMMAND):
            pipe.exists(*in_progress_keys[start : start + _KEYS_PER_COMMAND])
        for name in pending_hashes:
            pipe.hlen(name)
        replies: list[int] = await pipe.execute()
    chunks = len(replies) - len(pending_hashes)
    return sum(replies[:chunks]), replies[chunks:]
