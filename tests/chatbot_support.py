"""The chatbot tests on the real stack: memories to open, and what Redis and PostgreSQL hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Literal

import asyncpg
import orjson
import redis.asyncio as aioredis

from domain.repositories.checkpointers import BaseCheckpointerRepository
from domain.repositories.stores import BaseStoreRepository
from infra.checkpointers import RedisCheckpointerRepository, RedisCheckpointSaver
from infra.stores import PostgresStoreRepository, QueuedStoreRepository
from tests.checkpointer_support import keys_under, unique_prefix

Memory = tuple[BaseCheckpointerRepository, BaseStoreRepository]


StoreKind = Literal["postgres", "queued"]


@asynccontextmanager
async def open_memory(
    redis_url: str, database_url: str, kind: StoreKind = "postgres", queue_name: str | None = None
) -> AsyncIterator[Memory]:
    """Checkpoints in Redis under a prefix of their own; the PostgreSQL or the queued store."""
    async with AsyncExitStack() as stack:
        saver = await stack.enter_async_context(
            RedisCheckpointSaver.from_url(redis_url, key_prefix=unique_prefix())
        )
        stores: BaseStoreRepository
        if kind == "queued":
            assert queue_name is not None
            stores = await stack.enter_async_context(
                QueuedStoreRepository.from_url(redis_url, database_url, queue_name=queue_name)
            )
        else:
            stores = await stack.enter_async_context(PostgresStoreRepository.from_url(database_url))
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
