"""The chatbot tests on the real stack: memories to open, and what Redis and PostgreSQL hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis

from domain.repositories.checkpointers import BaseCheckpointerRepository
from domain.repositories.stores import BaseStoreRepository
from infra.checkpointers import RedisCheckpointerRepository, RedisCheckpointSaver
from infra.stores import PostgresStoreRepository
from tests.checkpointer_support import keys_under, unique_prefix

Memory = tuple[BaseCheckpointerRepository, BaseStoreRepository]


@asynccontextmanager
async def open_memory(redis_url: str, database_url: str) -> AsyncIterator[Memory]:
    """Checkpoints in Redis under a prefix of their own, long-term items in PostgreSQL."""
    async with (
        RedisCheckpointSaver.from_url(redis_url, key_prefix=unique_prefix()) as saver,
        PostgresStoreRepository.from_url(database_url) as stores,
    ):
        yield RedisCheckpointerRepository(saver), stores


async def thread_keys(
    redis_url: str, checkpoints: BaseCheckpointerRepository, thread: str
) -> set[str]:
    """The Redis keys a thread's checkpoints occupy."""
    saver = checkpoints.checkpointer
    assert isinstance(saver, RedisCheckpointSaver)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        return await keys_under(redis, saver.keys.thread(thread)[0][:-1])
    finally:
        await redis.aclose()


async def stored_rows(database_url: str, namespace: str) -> list[dict[str, Any]]:
    """The live rows of one namespace ('users.<label>.conversations'), by key."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT key, value::text AS value FROM chatmem_store"
            " WHERE namespace = $1 AND value IS NOT NULL ORDER BY key",
            namespace,
        )
    finally:
        await conn.close()
    return [{"key": row["key"], "value": orjson.loads(row["value"])} for row in rows]
