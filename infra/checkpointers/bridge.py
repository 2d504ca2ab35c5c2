"""Sync calls on an async saver: run its coroutines on its loop, from another thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class LoopBridge:
    """Hands coroutines to the event loop a saver lives on and waits for their result.

    As with langgraph's async savers, a sync call from the loop's own thread is
    refused: waiting there for the loop would block it forever.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use ``loop`` from now on (the loop the saver was entered on)."""
        self.loop = loop

    def _target(self, method: str) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is None or loop.is_closed():
            raise RuntimeError(
                f"{self._owner}.{method}() needs the event loop the saver runs on: "
                f"enter it with `async with` and call sync methods from another thread"
            )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise asyncio.InvalidStateError(
                f"Synchronous calls to {self._owner} are only allowed from a different "
                f"thread. From the main thread, use the async interface: "
                f"`await checkpointer.a{method}(...)` or `await graph.ainvoke(...)`."
            )
        return loop

    def run(self, method: str, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the saver's loop and return its result."""
        try:
            loop = self._target(method)
        except BaseException:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def iterate(self, method: str, items: AsyncIterator[T]) -> Iterator[T]:
        """Yield what ``items`` yields, each step run on the saver's loop."""
        loop = self._target(method)
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(_next(items), loop).result()
            except StopAsyncIteration:
                return


async def _next(items: AsyncIterator[T]) -> T:
    return await anext(items)
