"""The sync methods work from other threads, on the saver's loop, and refuse its own thread."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from infra.checkpointers import RedisCheckpointSaver
from tests.checkpointer_support import chat_graph, chat_turn, open_saver, turn_config


async def test_sync_methods_work_from_another_thread(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        await chat_turn(chat_graph(saver), "source", "hello", run_id="run-1")

        def in_a_worker_thread() -> dict[str, object]:
            config, metadata = generate_config("t1"), generate_metadata()
            stored = saver.put(config, generate_checkpoint(), metadata, {})
            saver.put_writes(stored, [("ch", "value")], "task-1")
            saver.copy_thread("source", "copy")
            seen = {
                "get": saver.get_tuple(stored),
                "listed": len(list(saver.list(turn_config("source")))),
                "copied": saver.get_tuple(turn_config("copy")),
            }
            saver.prune(["source"], strategy="keep_latest")
            seen["pruned"] = len(list(saver.list(turn_config("source"))))
            saver.delete_for_runs(["run-1"])
            seen["runs_deleted"] = saver.get_tuple(turn_config("copy"))
            saver.delete_thread("t1")
            seen["deleted"] = saver.get_tuple(stored)
            return seen

        seen = await asyncio.to_thread(in_a_worker_thread)

    got = seen["get"]
    assert got is not None
    assert got.pending_writes == [("task-1", "ch", "value")]  # type: ignore[attr-defined]
    assert seen["listed"] == 3
    assert seen["copied"] is not None
    assert seen["pruned"] == 1
    assert seen["runs_deleted"] is None
    assert seen["deleted"] is None


async def test_a_sync_graph_runs_on_the_async_saver_from_another_thread(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        for text in ("hello", "again"):
            result = await asyncio.to_thread(
                graph.invoke, {"messages": [HumanMessage(text)]}, turn_config("t1")
            )
        assert len(result["messages"]) == 4
        latest = await saver.aget_tuple(turn_config("t1"))
    assert latest is not None
    assert len(latest.checkpoint["channel_values"]["messages"]) == 4


async def test_a_sync_call_on_the_loop_thread_is_refused(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        with pytest.raises(asyncio.InvalidStateError, match="aget_tuple"):
            saver.get_tuple(turn_config("t1"))
        with pytest.raises(asyncio.InvalidStateError, match="different thread"):
            saver.put(generate_config("t1"), generate_checkpoint(), generate_metadata(), {})
        with pytest.raises(asyncio.InvalidStateError):
            list(saver.list(turn_config("t1")))
        # Nothing was left running that could write later.
        await asyncio.sleep(0)
        assert await saver.aget_tuple(turn_config("t1")) is None


def test_sync_calls_need_the_saver_to_be_entered_on_a_loop(redis_url: str) -> None:
    saver = RedisCheckpointSaver.from_url(redis_url)
    with pytest.raises(RuntimeError, match="async with"):
        saver.get_tuple(turn_config("t1"))
