"""End-to-end lag, measured on a sample of acknowledged writes: enqueued until committed.

Every accepted write leaves a pending entry in Redis that the worker removes
only after the write's commit in PostgreSQL (see infra/stores/pending.py);
in --mode queue the workers remove it without persisting. So a sampled
write is committed once its entry is gone. Sampled writes are turn records,
whose keys are written once: no later write of the same key can take the
entry's place. The sampler polls the entries of the writes it watches, a
oldest few dozen, in one pipelined round trip: the lag it measures is exact
to one poll interval (a write committed ahead of older watched ones can be
seen later), and PostgreSQL sees nothing of it (its statistics stay those
of the workers).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from worker.loadtest.histogram import Histogram

POLL_S = 0.02
SAMPLE_EVERY_S = 0.005
MAX_WATCHED = 128
# Only the oldest watched writes are looked at in one poll: jobs run in queue
# order, so newer ones are rarely done first, and the poll stays cheap for
# Redis (at most 32 HEXISTS every 20 ms per producer process).
POLL_WINDOW = 32


@dataclass(frozen=True, slots=True)
class _Watched:
    started: float
    #: how many writes this process had acknowledged once this one was.
    acked: int


class LagSampler:
    """Watches sampled writes until committed; their lags, and how far commits have come."""

    def __init__(
        self,
        redis: RedisClient,
        keys: QueueKeys,
        *,
        poll_s: float = POLL_S,
        every_s: float = SAMPLE_EVERY_S,
        max_watched: int = MAX_WATCHED,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.poll_s = poll_s
        self._every_s = every_s
        self._max_watched = max_watched
        self._watched: dict[tuple[str, str], _Watched] = {}
        self._last_sample = float("-inf")
        self.lags = Histogram()
        self.recent: list[float] = []
        #: writes acknowledged up to the newest sampled write seen committed: an
        #: estimate of how many have been committed (jobs run in queue order).
        self.watermark = 0
        self.poll_errors = 0

    @property
    def watching(self) -> int:
        """Sampled writes not yet seen committed."""
        return len(self._watched)

    def offer(self, ident: tuple[str, str], started: float, acked: int) -> None:
        """Watch this acknowledged write if a sample is due and there is room."""
        now = time.perf_counter()
        if now - self._last_sample < self._every_s or len(self._watched) >= self._max_watched:
            return
        self._last_sample = now
        self._watched[ident] = _Watched(started, acked)

    def take_recent(self) -> list[float]:
        """Lags (ms) measured since the last call."""
        recent, self.recent = self.recent, []
        return recent

    async def run(self, writing_done: asyncio.Event, settle_s: float) -> bool:
        """Poll while writes are made, then until every watched write is committed.

        Returns False if some were still not committed ``settle_s`` after
        ``writing_done`` was set. It stops by itself rather than being
        cancelled: a cancellation in the middle of a pipelined call can leave
        the Redis client's connection in an unknown state.
        """
        deadline: float | None = None
        while True:
            await self.poll()
            if writing_done.is_set():
                if not self._watched:
                    return True
                deadline = deadline or time.monotonic() + settle_s
                if time.monotonic() > deadline:
                    return False
            await asyncio.sleep(self.poll_s)

    async def poll(self) -> None:
        """One pipelined look at the pending entries of the watched writes."""
        watched = list(itertools.islice(self._watched.items(), POLL_WINDOW))
        if not watched:
            return
        try:
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                for (namespace, key), _ in watched:
                    pipe.hexists(self._keys.pending_entries(namespace), key)
                present = await pipe.execute()
        except (RedisError, OSError):
            # A lost poll delays a measurement; the writes are watched again next time.
            self.poll_errors += 1
            return
        now = time.perf_counter()
        for (ident, sample), pending in zip(watched, present, strict=True):
            if pending:
                continue
            lag_ms = (now - sample.started) * 1000
            self.lags.record(lag_ms)
            self.recent.append(lag_ms)
            self.watermark = max(self.watermark, sample.acked)
            del self._watched[ident]
