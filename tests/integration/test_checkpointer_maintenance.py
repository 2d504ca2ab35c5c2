"""prune, delete_for_runs and copy_thread on real chat threads, beyond the conformance suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)

from infra.checkpointers import DeltaThreadsError, RedisCheckpointSaver
from tests.checkpointer_support import chat_graph, chat_turn, open_saver, turn_config


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _checkpoint_ids(saver: RedisCheckpointSaver, thread_id: str) -> list[str]:
    return [t.checkpoint["id"] async for t in saver.alist(turn_config(thread_id))]


async def _blob_fields(redis: aioredis.Redis, saver: RedisCheckpointSaver, thread: str) -> int:
    fields = await redis.hkeys(saver.keys.thread(thread)[0])
    return sum(1 for field in fields if field.startswith(b"v\0"))


async def test_keep_latest_drops_the_history_and_its_unused_blobs(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        for text in ("one", "two", "three"):
            await chat_turn(graph, "t1", text)
        before = await _checkpoint_ids(saver, "t1")
        blobs_before = await _blob_fields(redis, saver, "t1")

        await saver.aprune(["t1"], strategy="keep_latest")

        assert await _checkpoint_ids(saver, "t1") == before[:1]
        latest = await saver.aget_tuple(turn_config("t1"))
        assert latest is not None
        assert len(latest.checkpoint["channel_values"]["messages"]) == 6
        assert latest.parent_config is None
        assert await _blob_fields(redis, saver, "t1") < blobs_before
        # The thread goes on from where it was.
        result = await chat_turn(graph, "t1", "four")
        assert len(result["messages"]) == 8


async def test_keep_latest_refuses_delta_threads_before_pruning_any(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        for text in ("one", "two"):
            await chat_turn(graph, "plain", text)
        parent = None
        for step in range(3):
            config = generate_config("delta")
            if parent is not None:
                config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
            metadata = generate_metadata(step=step, counters_since_delta_snapshot={"x": [1, 1]})
            parent = await saver.aput(config, generate_checkpoint(), metadata, {})
        plain_before = await _checkpoint_ids(saver, "plain")

        with pytest.raises(NotImplementedError) as refused:
            await saver.aprune(["plain", "delta"], strategy="keep_latest")

        assert isinstance(refused.value, DeltaThreadsError)
        assert refused.value.thread_ids == ["delta"]
        assert await _checkpoint_ids(saver, "plain") == plain_before
        assert len(await _checkpoint_ids(saver, "delta")) == 3


async def test_delete_for_runs_reaches_every_thread_of_the_run(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "a", "hello", run_id="run-1")
        await chat_turn(graph, "b", "hello", run_id="run-1")
        await chat_turn(graph, "a", "again", run_id="run-2")

        await saver.adelete_for_runs(["run-1"])

        runs_left = {t.metadata.get("run_id") async for t in saver.alist(turn_config("a"))} | {
            t.metadata.get("run_id") async for t in saver.alist(turn_config("b"))
        }
        assert runs_left == {"run-2"}
        assert await redis.exists(saver.keys.run("run-1")) == 0
        assert await redis.smembers(saver.keys.run("run-2")) == {b"a"}
        # run-2's first checkpoint had run-1's last one as parent: no dangling parent left.
        oldest = [t async for t in saver.alist(turn_config("a"))][-1]
        assert oldest.parent_config is None


async def test_a_copied_thread_can_be_deleted_by_run_and_leaves_the_source_alone(
    redis_url: str,
) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "source", "hello", run_id="run-1")
        await chat_turn(graph, "source", "again", run_id="run-2")

        await saver.acopy_thread("source", "copy")
        copied = await saver.aget_tuple(turn_config("copy"))
        assert copied is not None
        assert copied.config["configurable"]["thread_id"] == "copy"
        assert len(copied.checkpoint["channel_values"]["messages"]) == 4
        # The copy carries on as a thread of its own.
        assert len((await chat_turn(graph, "copy", "more"))["messages"]) == 6

        await saver.adelete_for_runs(["run-2"])
        assert len(await _checkpoint_ids(saver, "source")) == 3
        assert {t.metadata.get("run_id") async for t in saver.alist(turn_config("copy"))} == {
            "run-1",
            None,
        }


async def test_copying_a_thread_onto_itself_changes_nothing(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        await chat_turn(chat_graph(saver), "t1", "hello")
        before = await _checkpoint_ids(saver, "t1")
        await saver.acopy_thread("t1", "t1")
        assert await _checkpoint_ids(saver, "t1") == before


async def test_listing_every_namespace_orders_by_checkpoint_id(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        stored = []
        for ns in ("", "child:1", "", "child:2"):
            config = generate_config("t1", checkpoint_ns=ns)
            stored.append(await saver.aput(config, generate_checkpoint(), generate_metadata(), {}))
        everything = [t async for t in saver.alist({"configurable": {"thread_id": "t1"}})]
        limited = [t async for t in saver.alist({"configurable": {"thread_id": "t1"}}, limit=2)]
    expected = [c["configurable"]["checkpoint_id"] for c in reversed(stored)]
    assert [t.config["configurable"]["checkpoint_id"] for t in everything] == expected
    assert [t.config["configurable"]["checkpoint_id"] for t in limited] == expected[:2]
    assert [t.config["configurable"]["checkpoint_ns"] for t in everything] == [
        "child:2",
        "",
        "child:1",
        "",
    ]


async def test_listing_pages_through_a_long_thread(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        parent = None
        for step in range(120):
            config = generate_config("long")
            if parent is not None:
                config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
            metadata = generate_metadata(step=step)
            parent = await saver.aput(config, generate_checkpoint(), metadata, {})
        steps = [t.metadata["step"] async for t in saver.alist(turn_config("long"))]
        odd = [t async for t in saver.alist(turn_config("long"), filter={"step": 7})]
    assert steps == list(range(119, -1, -1))
    assert [t.metadata["step"] for t in odd] == [7]
