"""Sync calls run on the saver's loop from other threads, and never on the loop's own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from infra.checkpointers.bridge import LoopBridge


async def _where() -> int:
    return threading.get_ident()


async def _count(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def test_a_call_from_another_thread_runs_on_the_bound_loop() -> None:
    bridge = LoopBridge("Saver")
    bridge.bind(asyncio.get_running_loop())
    ran_on = await asyncio.to_thread(bridge.run, "get", _where())
    listed = await asyncio.to_thread(lambda: list(bridge.iterate("list", _count(3))))
    assert ran_on == threading.get_ident()
    assert listed == [0, 1, 2]


async def test_a_call_on_the_loops_own_thread_is_refused_and_nothing_is_left_running() -> None:
    bridge = LoopBridge("Saver")
    bridge.bind(asyncio.get_running_loop())
    # filterwarnings=error: a coroutine left unawaited would fail this test.
    with pytest.raises(asyncio.InvalidStateError, match=r"await checkpointer\.aget_tuple"):
        bridge.run("get_tuple", _where())
    with pytest.raises(asyncio.InvalidStateError):
        next(bridge.iterate("list", _count(1)))


def test_a_bridge_without_a_loop_says_how_to_get_one() -> None:
    bridge = LoopBridge("Saver")
    with pytest.raises(RuntimeError, match="async with"):
        bridge.run("put", _where())
    loop = asyncio.new_event_loop()
    loop.close()
    bridge.bind(loop)
    with pytest.raises(RuntimeError, match="async with"):
        bridge.run("put", _where())
