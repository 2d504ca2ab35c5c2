"""Pending writes read back from Redis, as the queued store's reads see them."""

from __future__ import annotations

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.pending import PendingReader
from infra.stores.producer import WriteProducer, encode_delete, encode_put


async def test_pending_writes_are_found_by_key_and_by_prefix(
    redis: RedisClient, keys: QueueKeys
) -> None:
    producer = WriteProducer(redis, keys)
    await producer.submit(encode_put(("users", "u1"), "a", {"v": 1}, None))
    await producer.submit(encode_put(("users", "u1", "facts"), "b", {"v": 2}, None))
    await producer.submit(encode_delete(("users", "u1"), "c"))
    await producer.submit(encode_put(("users", "u1-x"), "d", {"v": 3}, None))
    await producer.submit(encode_put(("users", "u10"), "e", {"v": 4}, None))
    reader = PendingReader(redis, keys)

    a, missing = await reader.by_key([(("users", "u1"), "a"), (("users", "u1"), "zzz")])
    assert a is not None
    assert a.value == {"v": 1}
    assert missing is None

    under = await reader.under(("users", "u1"))
    assert sorted((w.namespace, w.key, w.op) for w in under) == [
        (("users", "u1"), "a", "put"),
        (("users", "u1"), "c", "delete"),
        (("users", "u1", "facts"), "b", "put"),
    ]
    assert len(await reader.under(())) == 5


async def test_a_corrupt_pending_entry_is_skipped_not_fatal(
    redis: RedisClient, keys: QueueKeys
) -> None:
    await redis.redis.hset(keys.pending_entries("ns"), "k", b"not json")
    await redis.redis.zadd(keys.pending_namespaces, {"ns": 0})
    reader = PendingReader(redis, keys)
    assert await reader.under(("ns",)) == []
    assert await reader.by_key([(("ns",), "k")]) == [None]
