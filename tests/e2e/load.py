"""A write load with overwrites and deletes that remembers what was acknowledged.

Each writer owns its keys and writes them one at a time, so the last write
acknowledged (the put or delete that returned) is the one each key must end
at. A write that raised was not acknowledged: it may or may not land, so a
key whose last writes raised may end at any of them.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis

from domain.errors import ServiceUnavailableError
from infra.stores.keys import QueueKeys
from infra.stores.queued import QueuedStore

NS = ("load", "users")
Value = dict[str, Any] | None  # None: deleted


@dataclass
class KeyLog:
    """What one key may end at: its last acknowledged write, or a later unacknowledged one."""

    acked: Value = None
    unsure: list[Value] = field(default_factory=list)

    def allows(self, final: Value) -> bool:
        """Whether ``final`` (None: absent or deleted) is a state the key may end in."""
        return final == self.acked or final in self.unsure


@dataclass
class Load:
    """Writers putting, overwriting and deleting their keys through one QueuedStore."""

    store: QueuedStore
    writers: int = 16
    keys_per_writer: int = 8
    seed: int = 6
    keys: dict[str, KeyLog] = field(default_factory=dict)
    acked: int = 0
    refused: int = 0

    async def run(self, writes: int, pause_s: float = 0.0) -> None:
        """``writes`` writes in all; ``pause_s`` between a writer's writes stretches the load."""
        per_writer = writes // self.writers
        await asyncio.gather(*(self._writer(w, per_writer, pause_s) for w in range(self.writers)))

    async def _writer(self, writer: int, count: int, pause_s: float) -> None:
        rng = random.Random(self.seed * 1000 + writer)
        for n in range(count):
            key = f"w{writer}-k{rng.randrange(self.keys_per_writer)}"
            value: Value = None if rng.random() < 0.15 else {"w": writer, "n": n, "pad": "x" * 64}
            log = self.keys.setdefault(key, KeyLog())
            try:
                if value is None:
                    await self.store.adelete(NS, key)
                else:
                    await self.store.aput(NS, key, value)
            except ServiceUnavailableError:
                log.unsure.append(value)
                self.refused += 1
            else:
                log.acked, log.unsure = value, []
                self.acked += 1
            if pause_s:
                await asyncio.sleep(pause_s)

    async def until_acked(self, count: int) -> None:
        """Wait until ``count`` writes have been acknowledged."""
        async with asyncio.timeout(60):
            while True:
                if self.acked >= count:
                    return
                await asyncio.sleep(0.01)


async def drained(redis_url: str, keys: QueueKeys, within_s: float = 45) -> None:
    """Wait until the queue is empty and no write of it is pending (persisted, or buried)."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(within_s):
            while True:
                if not await client.zcard(keys.queue) + await client.zcard(keys.pending_namespaces):
                    return
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def stored(database_url: str) -> dict[str, Value]:
    """Every key of the load as PostgreSQL holds it (a tombstone as None)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT key, value::text AS value FROM chatmem_store WHERE namespace = $1",
            ".".join(NS),
        )
    finally:
        await conn.close()
    return {r["key"]: None if r["value"] is None else orjson.loads(r["value"]) for r in rows}


def mismatches(load: Load, final: dict[str, Value]) -> list[str]:
    """The keys whose stored state is not one the load allows, with both sides."""
    wrong = [
        f"{key}: stored {final.get(key)!r}, acknowledged {log.acked!r}"
        for key, log in load.keys.items()
        if not log.allows(final.get(key))
    ]
    wrong += [f"{key}: stored but never written" for key in final.keys() - load.keys.keys()]
    return wrong
