"""One multiplexed Redis connection for the checkpointer's hot path.

Every chat turn makes six saver calls, and a put is a MULTI/EXEC batch of
about ten commands. redis-py 5.3's asyncio client costs per command (pool
checkout with a lock and a socket probe, redis/redis-py#3692) and per reply
(a coroutine each); here that was about half of each round trip. This
connection writes a whole batch at once and parses its replies in one
hiredis pass, resolving one future per batch. Concurrent callers share it:
batches go out whole, so a MULTI/EXEC is never interleaved with another
caller's commands, and Redis answers in order. A caller that is cancelled
leaves its replies to be read and dropped, so nobody gets another's reply.

It is opened from the settings redis-py parsed from the URL (redis://,
rediss://, unix://, user, password, db, client name) and the client's
socket_timeout: a server that leaves a batch unanswered that long (hung, or
cut off without the connection closing) fails every caller waiting on the
connection, which is then reopened, as redis-py does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import hiredis
from hiredis import pack_command
from redis.asyncio.connection import ConnectionPool, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import BusyLoadingError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Arg = str | bytes | int
Command = tuple[Arg, ...]


def pack(commands: Sequence[Command]) -> bytes:
    """Commands in RESP, as one buffer."""
    # hiredis packs in C, in a third of the time of a Python loop over the
    # arguments. Its stub declares a one-element tuple; it takes any length.
    return b"".join([pack_command(command) for command in commands])  # type: ignore[arg-type]


def reply_error(message: str) -> ResponseError | BusyLoadingError:
    """The exception for an error reply: NOSCRIPT to reload scripts, LOADING as unavailable."""
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    if message.startswith("LOADING"):
        # A restarting server: a connection error, as redis-py has it.
        return BusyLoadingError(message)
    return ResponseError(message)


class _Protocol(asyncio.Protocol):
    """Matches replies to batches in order; one future per batch."""

    def __init__(self, timeout: float | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        # Looked up once: on 3.11 get_running_loop() makes a getpid() system call each time.
        self._loop = asyncio.get_running_loop()
        self._reader = hiredis.Reader(replyError=reply_error)
        self._waiting: deque[tuple[int, list[Any], asyncio.Future[list[Any]]]] = deque()
        self.lost: Exception | None = None
        # When the server last showed progress on what is owed: a reply, or a
        # batch sent while nothing was owed. One timer watches it, re-armed only
        # when it fires, not on every batch.
        self._timeout = timeout
        self._progress = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._progress = self._loop.time()
        self._reader.feed(data)
        waiting = self._waiting
        while waiting:
            count, replies, future = waiting[0]
            while len(replies) < count:
                reply = self._reader.gets()
                if reply is False:
                    return
                replies.append(reply)
            waiting.popleft()
            if not future.done():
                future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost is None:
            self.lost = RedisConnectionError(
                f"connection to Redis lost: {exc or 'closed by server'}"
            )
        self._fail_waiting(self.lost)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _fail_waiting(self, error: Exception) -> None:
        while self._waiting:
            future = self._waiting.popleft()[2]
            if not future.done():
                future.set_exception(error)

    def _watch(self) -> None:
        self._watchdog = None
        if not self._waiting or self._timeout is None or self.lost is not None:
            return
        silent = self._loop.time() - self._progress
        if silent < self._timeout:
            self._watchdog = self._loop.call_later(self._timeout - silent, self._watch)
            return
        # The replies still due may come later and would be read as the answers
        # to other batches: the connection cannot be used again.
        self.lost = RedisTimeoutError(f"no reply from Redis within {self._timeout:g}s")
        self._fail_waiting(self.lost)
        if self.transport is not None:
            self.transport.abort()

    def send(self, payload: bytes, count: int) -> asyncio.Future[list[Any]]:
        """Write a batch of ``count`` commands; the future gets their replies."""
        if self.lost is not None or self.transport is None:
            raise self.lost or RedisConnectionError("not connected to Redis")
        future: asyncio.Future[list[Any]] = self._loop.create_future()
        if not self._waiting:
            self._progress = self._loop.time()
        self._waiting.append((count, [], future))
        self.transport.write(payload)
        if self._timeout is not None and self._watchdog is None:
            self._watchdog = self._loop.call_later(self._timeout, self._watch)
        return future


class MultiplexedConnection:
    """A Redis connection shared by concurrent callers, reopened when it breaks."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._protocol: _Protocol | None = None
        self._opening: asyncio.Lock | None = None

    async def execute(self, *args: Arg) -> Any:
        """Send one command and return its reply; an error reply is raised."""
        reply = (await self.pipeline([args]))[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def pipeline(self, commands: Sequence[Command]) -> Awaitable[list[Any]]:
        """Send commands in one write; await their replies, error replies in place."""
        return self.send(pack(commands), len(commands))

    def send(self, payload: bytes, count: int) -> Awaitable[list[Any]]:
        """Send ``count`` commands already packed in RESP; await their replies as ``pipeline``."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            return self._open_and_send(payload, count)
        # Connected: the batch goes out now, and the caller awaits its future
        # directly (no coroutine in between, on every call of every turn).
        return protocol.send(payload, count)

    async def _open_and_send(self, payload: bytes, count: int) -> list[Any]:
        protocol = await self._open()
        return await protocol.send(payload, count)

    async def _open(self) -> _Protocol:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._protocol is None or self._protocol.lost is not None:
                self._protocol = await self._connect()
            return self._protocol

    async def _connect(self) -> _Protocol:
        kwargs = self._pool.connection_kwargs
        loop = asyncio.get_running_loop()
        timeout = kwargs.get("socket_connect_timeout")
        cls = self._pool.connection_class
        try:
            async with asyncio.timeout(timeout):

                def make() -> _Protocol:
                    return _Protocol(kwargs.get("socket_timeout"))

                if issubclass(cls, UnixDomainSocketConnection):
                    _, protocol = await loop.create_unix_connection(make, kwargs["path"])
                else:
                    ssl = (
                        cls(**kwargs).ssl_context.get() if issubclass(cls, SSLConnection) else None
                    )
                    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
                    _, protocol = await loop.create_connection(make, host, port, ssl=ssl)
                await self._handshake(protocol, kwargs)
        except TimeoutError:
            raise RedisConnectionError(f"no connection to Redis within {timeout}s") from None
        return protocol

    @staticmethod
    async def _handshake(protocol: _Protocol, kwargs: dict[str, Any]) -> None:
        commands: list[Command] = []
        username, password = kwargs.get("username"), kwargs.get("password")
        if provider := kwargs.get("credential_provider"):
            username, password = (None, *provider.get_credentials())[-2:]
        if password:
            commands.append(("AUTH", username, password) if username else ("AUTH", password))
        if kwargs.get("db"):
            commands.append(("SELECT", int(kwargs["db"])))
        if kwargs.get("client_name"):
            commands.append(("CLIENT", "SETNAME", kwargs["client_name"]))
        if not commands:
            return
        for reply in await protocol.send(pack(commands), len(commands)):
            if isinstance(reply, ResponseError):
                assert protocol.transport is not None
                protocol.transport.close()
                # A connection error: the caller reports Redis as unreachable, with this reason.
                raise RedisConnectionError(f"Redis refused the connection: {reply}")

    async def aclose(self) -> None:
        """Close the connection; calls still waiting get a connection error."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
