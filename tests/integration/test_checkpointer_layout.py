"""Key layout: a thread's keys share its hash tag, and deleting it removes them all, unscanned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from tests.checkpointer_support import chat_graph, chat_turn, keys_under, open_saver, turn_config


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_a_thread_lives_in_five_keys_tagged_with_its_id(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url, key_prefix="cp-test:layout") as saver:
        await chat_turn(chat_graph(saver), "chat-42", "hello", run_id="run-7")
        keys = await keys_under(redis, "cp-test:layout")

    thread = {f"cp-test:layout:{{chat-42}}:{suffix}" for suffix in "dcwrt"}
    assert keys == thread | {"cp-test:layout:run:{run-7}"}
    assert len({key_slot(key.encode()) for key in thread}) == 1
    assert key_slot(b"cp-test:layout:{chat-42}:d") == key_slot(b"chat-42")


async def test_an_awkward_thread_id_keeps_its_keys_in_one_slot_and_is_listed_back(
    redis_url: str, redis: aioredis.Redis
) -> None:
    awkward = "a}b:c*{x}"
    async with open_saver(redis_url) as saver:
        await chat_turn(chat_graph(saver), awkward, "hello")
        await chat_turn(chat_graph(saver), "plain", "hello")
        keys = await keys_under(redis, saver.keys.prefix)
        listed = {t.config["configurable"]["thread_id"] async for t in saver.alist(None)}
    # No run id: the run reference keys (r, t) are never created.
    assert keys == set(saver.keys.thread(awkward)[:3]) | set(saver.keys.thread("plain")[:3])
    assert len({key_slot(key.encode()) for key in saver.keys.thread(awkward)}) == 1
    assert listed == {awkward, "plain"}


async def test_listing_every_thread_stays_inside_a_prefix_full_of_glob_characters(
    redis_url: str,
) -> None:
    async with (
        open_saver(redis_url, key_prefix="cp-test:g*b?[x]") as globby,
        open_saver(redis_url, key_prefix="cp-test:gXb?x") as lookalike,
    ):
        await chat_turn(chat_graph(globby), "mine", "hello")
        await chat_turn(chat_graph(lookalike), "theirs", "hello")
        listed = {t.config["configurable"]["thread_id"] async for t in globby.alist(None)}
        await lookalike.adelete_thread("theirs")
        await globby.adelete_thread("mine")
    assert listed == {"mine"}


async def test_key_prefixes_keep_savers_apart(redis_url: str) -> None:
    async with open_saver(redis_url) as one, open_saver(redis_url) as other:
        await chat_turn(chat_graph(one), "shared-id", "hello")
        assert await other.aget_tuple(turn_config("shared-id")) is None
        assert [t async for t in other.alist(None)] == []
        await other.adelete_thread("shared-id")
        assert await one.aget_tuple(turn_config("shared-id")) is not None


async def test_deleting_a_thread_removes_every_key_without_scanning(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "doomed", "hello", run_id="run-1")
        await chat_turn(graph, "doomed", "again", run_id="run-2")
        await chat_turn(graph, "kept", "hello", run_id="run-1")
        sent: list[Any] = []
        real = saver.store.scripts.connections.pipeline

        async def record(commands: Any) -> list[Any]:
            sent.extend(command[0] for command in commands)
            return await real(commands)

        saver.store.scripts.connections.pipeline = record  # type: ignore[method-assign]
        await saver.adelete_thread("doomed")

        keys = await keys_under(redis, saver.keys.prefix)
        assert keys == set(saver.keys.thread("kept")) | {saver.keys.run("run-1")}
        assert await redis.smembers(saver.keys.run("run-1")) == {b"kept"}
        assert not {"SCAN", "KEYS"} & {str(name) for name in sent}
        assert await saver.aget_tuple(turn_config("doomed")) is None
        assert await saver.aget_tuple(turn_config("kept")) is not None


async def test_deleting_a_thread_that_does_not_exist_is_a_no_op(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        await saver.adelete_thread("never-seen")
        assert await saver.aget_tuple(turn_config("never-seen")) is None
