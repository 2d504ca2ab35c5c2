"""Connections for the checkpointer's hot path, kept without redis-py's per-command checkout.

redis-py 5.3's asyncio pool takes an asyncio.Lock and probes the socket for
unread data on every command (redis/redis-py#3692); here that costs about
110 us of a 200 us round trip, six times a chat turn. These are the same
redis-py Connection objects (same URL, auth, TLS, db), held in a plain free
list instead. A connection whose command did not finish cleanly is closed,
never reused, so no reply can be read by the wrong caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ResponseError

MAX_IDLE = 64


def pack(command: Sequence[str | bytes | int]) -> bytes:
    """One command in RESP; redis-py's packer costs ~80 us for a script call's ~16 arguments."""
    parts = [b"*%d\r\n" % len(command)]
    for arg in command:
        data = (
            arg.encode() if isinstance(arg, str) else b"%d" % arg if isinstance(arg, int) else arg
        )
        parts += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(parts)


class DirectConnections:
    """A free list of connections made from a redis-py pool's settings."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._idle: list[AbstractConnection] = []
        self._closed = False

    async def execute(self, *args: str | bytes | int) -> Any:
        """Send one command and return its reply; a Redis error reply is raised."""
        replies = await self.pipeline([args])
        reply = replies[0]
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    async def pipeline(self, commands: Sequence[Sequence[str | bytes | int]]) -> list[Any]:
        """Send commands in one write, read their replies; error replies come back in place."""
        payload = b"".join([pack(command) for command in commands])
        conn = await self._acquire()
        try:
            await conn.send_packed_command(payload, check_health=False)
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await conn.read_response())
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            # Cancelled or broken mid-command: replies may still be in flight.
            await conn.disconnect(nowait=True)
            raise
        await self._release(conn)
        return replies

    async def _acquire(self) -> AbstractConnection:
        if self._idle:
            return self._idle.pop()
        conn: AbstractConnection = self._pool.connection_class(**self._pool.connection_kwargs)
        await conn.connect()  # type: ignore[no-untyped-call]
        return conn

    async def _release(self, conn: AbstractConnection) -> None:
        if self._closed or len(self._idle) >= MAX_IDLE:
            await conn.disconnect(nowait=True)
        else:
            self._idle.append(conn)

    async def aclose(self) -> None:
        """Close the idle connections; ones in use are closed when released."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect()
