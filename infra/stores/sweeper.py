"""The sweeper: expired items give up their value, old tombstones go.

Reads never show an expired item, whether swept or not; sweeping reclaims the
space. An expired item first becomes a tombstone that keeps its version, so a
late, older queued write cannot bring it back; tombstones (from deletes and
expiries) are dropped once older than the retention. The retention must be
longer than any write can stay queued: a queued write older than a dropped
tombstone would land. Seven days by default, well beyond the queue's retries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from infra.logs import get_logger
from infra.postgres_client import PROBE_ERRORS
from infra.redaction import redact_text
from infra.stores.postgres_sql import DROP_TOMBSTONES, EXPIRE_ITEMS

DEFAULT_SWEEP_INTERVAL_MINUTES = 5.0
DEFAULT_TOMBSTONE_RETENTION = timedelta(days=7)
# Rows per statement: short transactions, short row locks.
SWEEP_CHUNK = 5000

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did."""

    expired: int
    tombstones_dropped: int


async def sweep(
    pool: asyncpg.Pool,
    *,
    retention: timedelta = DEFAULT_TOMBSTONE_RETENTION,
    chunk: int = SWEEP_CHUNK,
) -> SweepResult:
    """One full pass, in chunks; rows being written at the moment are left for the next."""
    expired = await _in_chunks(pool, chunk, EXPIRE_ITEMS, chunk)
    dropped = await _in_chunks(pool, chunk, DROP_TOMBSTONES, retention, chunk)
    return SweepResult(expired, dropped)


async def _in_chunks(pool: asyncpg.Pool, chunk: int, statement: str, *args: object) -> int:
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(statement, *args)
        count = int(status.rsplit(" ", 1)[1])
        total += count
        if count < chunk:
            return total


class Sweeper:
    """Runs ``sweep`` every ``interval_minutes`` until stopped; a failed pass is logged."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        interval_minutes: float = DEFAULT_SWEEP_INTERVAL_MINUTES,
        retention: timedelta = DEFAULT_TOMBSTONE_RETENTION,
    ) -> None:
        if not interval_minutes > 0:
            raise ValueError(
                f"the sweep interval is a positive number of minutes; got {interval_minutes!r}"
            )
        self._pool = pool
        self.interval_minutes = interval_minutes
        self.retention = retention
        self._task: asyncio.Task[None] | None = None
        self.passes = 0

    @property
    def running(self) -> bool:
        """Whether the periodic task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the periodic task (once)."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name="chatmem-store-sweeper")

    async def stop(self) -> None:
        """Stop the periodic task, waiting for a pass in progress to be cancelled."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def run_once(self) -> SweepResult:
        """One pass now."""
        result = await sweep(self._pool, retention=self.retention)
        self.passes += 1
        if result.expired or result.tombstones_dropped:
            log.info(
                "store_swept",
                expired=result.expired,
                tombstones_dropped=result.tombstones_dropped,
            )
        return result

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_minutes * 60)
            try:
                await self.run_once()
            except asyncpg.exceptions.UndefinedTableError:
                log.info("store_sweep_skipped", reason="chatmem_store does not exist yet")
            except PROBE_ERRORS as exc:  # the server away, or refusing: try again next time
                log.warning("store_sweep_failed", error=redact_text(str(exc)) or type(exc).__name__)
