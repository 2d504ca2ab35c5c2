"""Runs the checkpointer's Lua scripts by SHA, reloading them when the server lost them."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra.checkpointers.connections import Arg, Command, MultiplexedConnection
from infra.checkpointers.lua import SCRIPT_NAMES, source
from infra.redis_client import RedisClient

# What redis-py raises when the server is away, as opposed to refusing a command.
UNAVAILABLE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class ScriptRunner:
    """Sends EVALSHA (alone or pipelined) and turns an absent Redis into a clear error."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self.connections = MultiplexedConnection(client.redis.connection_pool)
        self._sources = {name: source(name) for name in SCRIPT_NAMES}
        self._shas = {
            name: hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
            for name, text in self._sources.items()
        }

    def command(self, name: str, keys: Sequence[str], args: Sequence[Arg]) -> Command:
        """The EVALSHA command that runs script ``name``, for ``pipeline``."""
        return ("EVALSHA", self._shas[name], len(keys), *keys, *args)

    async def load(self) -> None:
        """Load every script into the server's script cache."""
        async with self.unavailable_as_error():
            await self._load()

    async def _load(self) -> None:
        commands = [("SCRIPT", "LOAD", text) for text in self._sources.values()]
        for reply in await self.connections.pipeline(commands):
            if isinstance(reply, Exception):
                raise reply

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run one script: one round trip unless the server has to be sent the scripts."""
        command = self.command(name, keys, args)
        # try/except rather than unavailable_as_error(): this is every turn's hot path.
        try:
            try:
                return await self.connections.execute(*command)
            except NoScriptError:
                # A restarted server or SCRIPT FLUSH; the script did not run.
                await self._load()
                return await self.connections.execute(*command)
        except UNAVAILABLE_ERRORS as exc:
            raise self.client.unavailable(exc) from None

    async def pipeline(
        self, commands: Sequence[Command], *, raise_on_error: bool = True
    ) -> list[Any]:
        """Send commands in one round trip; each is atomic on its own, not all together.

        Every script here is idempotent, so after NOSCRIPT the whole batch is
        sent again. With ``raise_on_error=False`` a command's error is returned
        in its place.
        """
        if not commands:
            return []
        try:
            replies = await self.connections.pipeline(commands)
        except UNAVAILABLE_ERRORS as exc:
            raise self.client.unavailable(exc) from None
        return await self._settle(
            lambda: self.connections.pipeline(commands), replies, raise_on_error
        )

    async def transaction(self, payload: bytes, count: int, checked: int) -> list[Any]:
        """Send a packed batch whose last commands are MULTI ... EXEC; raise the first error.

        Only the replies of the ``checked`` commands before MULTI, and EXEC's,
        can report a failure: a command refused while queued makes EXEC fail
        too. So a batch that went through is not scanned reply by reply.
        """
        try:
            replies = await self.connections.send(payload, count)
        except UNAVAILABLE_ERRORS as exc:
            raise self.client.unavailable(exc) from None
        if isinstance(replies[-1], list) and not any(
            isinstance(reply, Exception) for reply in replies[:checked]
        ):
            return replies
        return await self._settle(lambda: self.connections.send(payload, count), replies, True)

    async def _settle(
        self,
        resend: Callable[[], Awaitable[list[Any]]],
        replies: list[Any],
        raise_on_error: bool,
    ) -> list[Any]:
        errors = [reply for reply in replies if isinstance(reply, Exception)]
        if any(isinstance(error, NoScriptError) for error in errors):
            try:
                await self._load()
                replies = await resend()
            except UNAVAILABLE_ERRORS as exc:
                raise self.client.unavailable(exc) from None
            errors = [reply for reply in replies if isinstance(reply, Exception)]
        for error in errors:
            if isinstance(error, UNAVAILABLE_ERRORS):
                raise self.client.unavailable(error) from None
        if raise_on_error and errors:
            raise errors[0]
        return replies

    async def aclose(self) -> None:
        """Close the connections this runner opened."""
        await self.connections.aclose()

    @asynccontextmanager
    async def unavailable_as_error(self) -> AsyncIterator[None]:
        """Raise ServiceUnavailableError naming Redis when it cannot be reached."""
        try:
            yield
        except UNAVAILABLE_ERRORS as exc:
            raise self.client.unavailable(exc) from None
