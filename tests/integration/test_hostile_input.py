"""Namespaces, keys and values that look like SQL, Lua or Redis syntax are stored as text."""

from __future__ import annotations

import asyncpg

from infra.stores.keys import QueueKeys
from infra.stores.queued import QueuedStore
from tests.integration.conftest import Drain

NAMESPACES = [
    ("users'; DROP TABLE chatmem_store; --", "x"),
    ("$1", "%s", "%d"),
    ("a*", "[b]", "?"),
    ("\\", '"quoted"', "`tick`"),
    ("line\nbreak", "tab\there", "\r"),
    ("ünïcødé", "🙂"),
    ("arq:job:x", "chatmem:queue", "{tag}"),
    ("(select 1)", "' OR '1'='1"),
]
KEYS = [
    "Robert'); DROP TABLE chatmem_store;--",
    "$1",
    "%s%s%n",
    "\\x00",
    "*",
    "' || pg_sleep(5) || '",
    "key with spaces",
    "]]--[[ return redis.call('FLUSHALL') --",
]


async def test_hostile_namespaces_and_keys_travel_the_queue_and_are_stored_verbatim(
    redis_url: str, database_url: str, keys: QueueKeys, drain: Drain
) -> None:
    async with QueuedStore.from_url(redis_url, database_url, queue_name=keys.queue) as store:
        await store.setup()
        for namespace in NAMESPACES:
            for key in KEYS:
                await store.aput(namespace, key, {"ns": list(namespace), "key": key, "q": "'; --"})
        await store.adelete(NAMESPACES[0], KEYS[0])
        await drain(keys)
        for namespace in NAMESPACES:
            for key in KEYS:
                item = await store.postgres.aget(namespace, key)
                if (namespace, key) == (NAMESPACES[0], KEYS[0]):
                    assert item is None
                    continue
                assert item is not None
                assert item.value == {"ns": list(namespace), "key": key, "q": "'; --"}
        assert sorted(await store.alist_namespaces(limit=100)) == sorted(NAMESPACES)
        found = await store.asearch(NAMESPACES[1], limit=100)
        assert sorted(i.key for i in found) == sorted(KEYS)
        assert await store.redis.redis.zcard(keys.pending_namespaces) == 0
    conn = await asyncpg.connect(database_url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM chatmem_store WHERE value IS NOT NULL")
    finally:
        await conn.close()
    assert count == len(NAMESPACES) * len(KEYS) - 1
