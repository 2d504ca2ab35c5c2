"""Sync store methods for threads other than the store's event loop (langgraph's rule)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from langgraph.store.base import Op, Result

AsyncBatch = Callable[[list[Op]], Coroutine[Any, Any, list[Result]]]


def run_batch(
    store: str, loop: asyncio.AbstractEventLoop, abatch: AsyncBatch, ops: Iterable[Op]
) -> list[Result]:
    """Run ``abatch(ops)`` on ``loop`` from another thread and wait for its results.

    On the loop's own thread that wait would never end, so it is refused.
    """
    if _on_thread_of(loop):
        raise asyncio.InvalidStateError(
            f"Synchronous calls to {store} detected in the main event loop. "
            "This would deadlock: use the asynchronous methods there, for example "
            "`await store.aget(...)` instead of `store.get(...)`."
        )
    if not loop.is_running():
        raise RuntimeError(f"the event loop this {store} was created on is not running")
    return asyncio.run_coroutine_threadsafe(abatch(list(ops)), loop).result()


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
