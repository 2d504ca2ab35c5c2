"""The connections of the group commit, kept checked out while writes keep coming."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from infra.postgres_client import CONNECTION_ERRORS
from infra.stores.writes import DirectWrite, upsert_direct

# What using a connection the server has dropped raises; InternalClientError when
# the driver has read the server's farewell but not yet seen the socket close.
DROPPED: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.exceptions.InternalClientError,
)


class WriterConnections:
    """Connections the group commit keeps checked out while writes keep coming.

    Going through the pool costs more client CPU per commit than a commit's
    own rows. A connection unused for HOLD_SECONDS goes back to the pool, so
    an idle store holds none and its pool can close.
    """

    HOLD_SECONDS = 0.2

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._idle: list[asyncpg.pool.PoolConnectionProxy[asyncpg.Record]] = []
        self._last_used = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._releasing: set[asyncio.Task[None]] = set()

    async def commit(self, writes: list[DirectWrite]) -> None:
        """Apply ``writes`` on a held connection, or a fresh one from the pool."""
        if self._idle:
            try:
                await self._run(self._idle.pop(), writes)
                return
            except DROPPED:
                # The server dropped the held connection meanwhile (a restart, an idle
                # timeout). Applying a direct write again is harmless: it supersedes again.
                pass
        await self._run(await self._pool.acquire(), writes)

    async def _run(
        self, conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record], writes: list[DirectWrite]
    ) -> None:
        try:
            await upsert_direct(conn, writes)
        except BaseException:
            await self._pool.release(conn)  # the pool closes a broken connection
            raise
        self._idle.append(conn)
        self._last_used = time.monotonic()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.HOLD_SECONDS, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if not self._idle:
            return
        left = self._last_used + self.HOLD_SECONDS - time.monotonic()
        if left > 0:
            self._timer = asyncio.get_running_loop().call_later(left, self._expire)
            return
        task = asyncio.get_running_loop().create_task(self._release_idle())
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._pool.release(conn)

    async def close(self) -> None:
        """Give every held connection back to the pool."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._release_idle()
        await asyncio.gather(*self._releasing, return_exceptions=True)
