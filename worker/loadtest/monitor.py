"""The load test seen from outside: queue depth, whether its writes are committed, a timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from redis.exceptions import RedisError

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from worker.loadtest.histogram import Histogram
from worker.loadtest.producer import Progress
from worker.loadtest.workload import namespace_prefix, prefix_range


class QueueMonitor:
    """Reads the queue's depth and the run's pending entries (its writes not yet committed)."""

    def __init__(self, redis: RedisClient, keys: QueueKeys, tag: str, *, own_queue: bool) -> None:
        self._redis = redis
        self._keys = keys
        low, high = prefix_range(namespace_prefix(tag))
        self._range = (f"[{low}", f"({high}")
        self._own_queue = own_queue

    async def depth(self) -> int:
        """Jobs in the queue: waiting, or running on a worker."""
        try:
            return int(await self._redis.redis.zcard(self._keys.queue))
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None

    async def pending_namespaces(self) -> int:
        """The run's namespaces that still have writes waiting for their commit."""
        try:
            count = await self._redis.redis.zlexcount(  # type: ignore[no-untyped-call]
                self._keys.pending_namespaces, *self._range
            )
            return int(count)
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None

    async def drained(self) -> bool:
        """Every write of the run committed (and, on the run's own queue, no job left)."""
        if await self.pending_namespaces():
            return False
        return not self._own_queue or await self.depth() == 0


@dataclass(frozen=True, slots=True)
class Point:
    """The run at one moment: counts so far (all producers), queue depth, recent lags."""

    t: float
    offered: int
    acked: int
    committed: int
    errors: int
    queue_jobs: int
    behind_ms: float
    lag_p50_ms: float | None
    lag_max_ms: float | None


def point(t: float, progress: Sequence[Progress], lags: Sequence[float], depth: int) -> Point:
    """A timeline point from each producer's latest progress and the lags since the last point."""
    recent = Histogram()
    for lag in lags:
        recent.record(lag)
    return Point(
        t=round(t, 3),
        offered=sum(p.due for p in progress),
        acked=sum(p.acked for p in progress),
        committed=sum(p.committed for p in progress),
        errors=sum(p.errors for p in progress),
        queue_jobs=depth,
        behind_ms=max((p.behind_ms for p in progress), default=0.0),
        lag_p50_ms=_rounded(recent.percentile(50)),
        lag_max_ms=_rounded(recent.max) if recent.count else None,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def rate(points: Sequence[Point], field: str, window_s: float = 1.0) -> float:
    """Per second of ``field`` over the last ``window_s`` of the timeline."""
    if len(points) < 2:
        return 0.0
    last = points[-1]
    first = next((p for p in points if p.t >= last.t - window_s), points[0])
    if first is last:
        first = points[-2]
    span = last.t - first.t
    return (getattr(last, field) - getattr(first, field)) / span if span > 0 else 0.0


def timeline_json(points: Sequence[Point]) -> list[dict[str, Any]]:
    """The timeline as JSON objects."""
    return [asdict(p) for p in points]
