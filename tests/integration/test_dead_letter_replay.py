"""Dead letters are listed, replayed with their original versions, and purged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from domain.models import StoreWrite
from infra.redis_client import RedisClient
from infra.stores.dead_letter_admin import DeadLetterAdmin
from infra.stores.dead_letters import Burial, DeadLetters
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_put
from infra.stores.queued import QueuedStore
from tests.integration.conftest import Drain

NS = ("users", "u1")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def put(key: str, version: int, value: object) -> StoreWrite:
    return StoreWrite("put", NS, key, {"v": value}, None, version, T0)


@pytest.fixture
def admin(redis: RedisClient, keys: QueueKeys) -> DeadLetterAdmin:
    return DeadLetterAdmin(redis, keys)


async def bury(redis: RedisClient, keys: QueueKeys, *writes: StoreWrite) -> list[str]:
    burials = [Burial.of_write("j1", 3, "exhausted", w, "PostgreSQL away") for w in writes]
    await DeadLetters(redis, keys).bury(burials)
    return [entry_id.decode() for entry_id, _ in await redis.redis.xrange(keys.dead_letters)]


async def test_entries_list_oldest_first_with_everything_an_operator_needs(
    redis: RedisClient, keys: QueueKeys, admin: DeadLetterAdmin
) -> None:
    await bury(redis, keys, put("a", 10, 1), put("b", 11, 2))
    assert await admin.count() == 2
    [first] = await admin.entries(limit=1)
    assert first.as_json() | {"id": "", "failed_at": ""} == {
        "id": "",
        "failed_at": "",
        "job_id": "j1",
        "kind": "exhausted",
        "error": "PostgreSQL away",
        "tries": 3,
        "op": {
            "op": "put", "namespace": list(NS), "key": "a", "value": {"v": 1}, "ttl": None,
            "version": 10, "written_at": 1_767_225_600_000_000,
        },
    }  # fmt: skip
    assert datetime.fromisoformat(first.failed_at).tzinfo is not None


async def test_a_replayed_write_keeps_its_version_so_a_newer_write_still_wins(
    redis: RedisClient, keys: QueueKeys, admin: DeadLetterAdmin, database_url: str, drain: Drain
) -> None:
    async with QueuedStore.from_url(redis.url, database_url, queue_name=keys.queue) as store:
        await store.setup()
        await store.aput(NS, "newer", {"v": "now"})
        await store.aput(NS, "alone", {"v": "now"})
        await drain(keys)
        # Versions far below anything the queue hands out today: writes of long ago.
        ids = await bury(
            redis, keys, put("newer", 5, "old"), put("alone", 6, "old"), put("gone", 7, "old")
        )
        await store.adelete(NS, "alone")
        report = await admin.replay([*ids[:2], "1-1"])
        assert report.replayed == ids[:2]
        assert report.missing == ["1-1"]
        # Read-your-writes does not show the old writes over the newer ones.
        assert (await store.aget(NS, "newer")).value == {"v": "now"}  # type: ignore[union-attr]
        assert await store.aget(NS, "alone") is None
        await drain(keys)
        assert (await store.postgres.aget(NS, "newer")).value == {"v": "now"}  # type: ignore[union-attr]
        assert await store.postgres.aget(NS, "alone") is None
    assert [e.id for e in await admin.entries()] == ids[2:]
    assert await redis.redis.zcard(keys.pending_namespaces) == 0


async def test_a_replayed_write_of_a_key_written_since_by_nobody_lands(
    redis: RedisClient, keys: QueueKeys, admin: DeadLetterAdmin, database_url: str, drain: Drain
) -> None:
    await bury(redis, keys, put("k", 5, "old"))
    async with QueuedStore.from_url(redis.url, database_url, queue_name=keys.queue) as store:
        await store.setup()
        report = await admin.replay(None)
        assert len(report.replayed) == 1
        assert (await store.aget(NS, "k")).value == {"v": "old"}  # type: ignore[union-attr]
        await drain(keys)
        item = await store.postgres.aget(NS, "k")
    assert item is not None
    assert item.updated_at == T0  # its original time, not the replay's
    assert await admin.count() == 0


async def test_an_entry_is_replayed_once_even_by_two_replays_at_once(
    redis: RedisClient, keys: QueueKeys, admin: DeadLetterAdmin
) -> None:
    ids = await bury(redis, keys, *(put(f"k{i}", 10 + i, i) for i in range(50)))
    first, second = await asyncio.gather(
        admin.replay(ids), DeadLetterAdmin(redis, keys).replay(ids)
    )
    assert sorted(first.replayed + second.replayed) == sorted(ids)
    queued = await redis.redis.zrange(keys.queue, 0, -1)
    ops = [
        op
        for job_id in queued
        for op in orjson.loads(await redis.redis.get(keys.job(job_id.decode())))["a"][0]
    ]
    assert len(ops) == 50


async def test_a_raw_payload_is_not_replayed_and_stays_until_purged(
    redis: RedisClient, keys: QueueKeys, admin: DeadLetterAdmin
) -> None:
    await DeadLetters(redis, keys).bury(
        [Burial("j", "malformed", "not JSON", 1, "payload", b"\x80")]
    )
    [entry] = await admin.entries()
    report = await admin.replay([entry.id])
    assert report.refused == [(entry.id, "no op to replay: the job could not be decoded")]
    assert await admin.count() == 1
    assert await admin.purge([entry.id, "not-an-id", "1-1"]) == (1, ["not-an-id", "1-1"])
    assert await admin.count() == 0


async def test_purging_all_leaves_an_empty_stream_and_touches_nothing_else(
    redis: RedisClient, keys: QueueKeys, admin: DeadLetterAdmin
) -> None:
    await WriteProducer(redis, keys).submit(encode_put(NS, "queued", {"v": 1}, None))
    await bury(redis, keys, *(put(f"k{i}", 10 + i, i) for i in range(1200)))
    assert await admin.purge(None) == (1200, [])
    assert await admin.count() == 0
    assert await redis.redis.zcard(keys.queue) == 1
