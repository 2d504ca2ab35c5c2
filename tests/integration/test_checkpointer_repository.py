"""RedisCheckpointerRepository: reads a thread's checkpoint, and deleting it really deletes."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from infra.checkpointers import RedisCheckpointerRepository, RedisCheckpointSaver
from infra.redis_client import RedisClient
from infra.settings import Settings
from tests.checkpointer_support import chat_graph, chat_turn, keys_under, unique_prefix


async def test_clear_conversation_removes_the_thread_from_redis(redis_url: str) -> None:
    prefix = unique_prefix()
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        repository = RedisCheckpointerRepository(saver)
        graph = chat_graph(repository.checkpointer)
        await chat_turn(graph, "user-1", "hello", run_id="run-1")
        await chat_turn(graph, "user-2", "hello")

        checkpoint = await repository.aget_checkpoint("user-1")
        assert checkpoint is not None
        assert len(checkpoint.checkpoint["channel_values"]["messages"]) == 2

        await repository.adelete_checkpoint("user-1")

        assert await repository.aget_checkpoint("user-1") is None
        redis = aioredis.Redis.from_url(redis_url)
        left = await keys_under(redis, prefix)
        await redis.aclose()
        assert left == set(saver.keys.thread("user-2")[:3])
        # The next turn starts a new conversation.
        result = await chat_turn(graph, "user-1", "who are you?")
        assert len(result["messages"]) == 2


async def test_the_sync_repository_methods_work_from_another_thread(redis_url: str) -> None:
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=unique_prefix()) as saver:
        repository = RedisCheckpointerRepository(saver)
        await chat_turn(chat_graph(saver), "user-1", "hello")

        def clear() -> tuple[object, object]:
            before = repository.get_checkpoint("user-1")
            repository.delete_checkpoint("user-1")
            return before, repository.get_checkpoint("user-1")

        before, after = await asyncio.to_thread(clear)
    assert before is not None
    assert after is None


async def test_a_repository_from_settings_uses_the_configured_ttl(redis_url: str) -> None:
    settings = Settings(checkpoint_ttl_minutes=2.0)
    async with RedisClient.from_url(redis_url) as client:
        repository = RedisCheckpointerRepository.from_settings(
            settings, client, key_prefix=unique_prefix()
        )
        saver = repository.checkpointer
        await chat_turn(chat_graph(saver), "user-1", "hello")
        ttl = await client.redis.pttl(saver.keys.thread("user-1")[0])
        await saver.aclose()
    assert saver.ttl_minutes == 2.0
    assert 115_000 < ttl <= 120_000
