"""What is where after the demo's conversation: Redis checkpoints, PostgreSQL rows, the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.conversation import messages_of
from infra.postgres_client import PostgresClient
from worker.demo_script import Assistant
from worker.stack import Stack


@dataclass(frozen=True, slots=True)
class ThreadMemory:
    """A thread's short-term memory in Redis: its keys, messages and remaining TTL."""

    thread: str
    user: str
    assistant: Assistant
    keys: int
    messages: int
    ttl_seconds: float | None


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One live row of chatmem_store."""

    namespace: str
    key: str
    value: dict[str, Any]
    updated_at: datetime


async def thread_memory(
    stack: Stack, threads: list[tuple[str, str, Assistant]]
) -> list[ThreadMemory]:
    """Each thread's keys and remaining TTL (read before anything refreshes it), then messages."""
    saver = stack.checkpoints.checkpointer
    found = []
    for thread, user, assistant in threads:
        async with stack.redis.redis.pipeline(transaction=False) as pipe:
            for key in saver.keys.thread(thread):
                pipe.pttl(key)
            ttls: list[int] = await pipe.execute()
        live = [ttl for ttl in ttls if ttl != -2]
        ttl = min((t for t in live if t >= 0), default=None)
        checkpoint = await stack.checkpoints.aget_checkpoint(thread)
        found.append(
            ThreadMemory(
                thread,
                user,
                assistant,
                keys=len(live),
                messages=len(messages_of(checkpoint)),
                ttl_seconds=None if ttl is None else ttl / 1000,
            )
        )
    return found


async def stored_rows(stack: Stack) -> tuple[list[StoredRow], int]:
    """The live rows of the run's chatmem_store, and how many tombstones (deletes) it keeps."""
    async with await PostgresClient.connect(stack.database_url, max_size=1) as client:
        rows = await client.pool.fetch(
            "SELECT namespace, key, value, updated_at FROM chatmem_store"
            " WHERE value IS NOT NULL ORDER BY namespace, key"
        )
        tombstones = await client.pool.fetchval(
            "SELECT count(*) FROM chatmem_store WHERE value IS NULL"
        )
    live = [StoredRow(r["namespace"], r["key"], r["value"], r["updated_at"]) for r in rows]
    return live, int(tombstones)
