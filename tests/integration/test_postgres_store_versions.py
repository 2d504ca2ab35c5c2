"""Direct writes of PostgresStore and queued writes (upsert_newer) obey one version rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from langgraph.store.base import PutOp

from domain.models import StoreWrite
from infra.stores import writes
from infra.stores.ops import check_write
from infra.stores.postgres import PostgresStore
from infra.stores.writes import upsert_newer

NS = ("v",)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresStore]:
    async with PostgresStore.from_url(database_url, sweep=False) as opened:
        await opened.setup()
        yield opened


async def clock_us(store: PostgresStore) -> int:
    value = await store.client.pool.fetchval(
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8"
    )
    return int(value)


async def stored(store: PostgresStore, key: str = "k") -> asyncpg.Record:
    row = await store.client.pool.fetchrow("SELECT * FROM chatmem_store WHERE key = $1", key)
    assert row is not None
    return row


async def queued(store: PostgresStore, version: int, value: dict[str, Any] | None) -> int:
    op = "delete" if value is None else "put"
    write = StoreWrite(op, NS, "k", value, None, version, datetime.now(UTC))
    async with store.client.pool.acquire() as conn:
        return await upsert_newer(conn, [write])


async def test_a_direct_write_is_versioned_by_the_postgres_clock(store: PostgresStore) -> None:
    before = await clock_us(store)
    await store.aput(NS, "k", {"v": 1})
    after = await clock_us(store)
    assert before <= (await stored(store))["version"] <= after


async def test_a_direct_write_supersedes_a_queued_write_from_the_future(
    store: PostgresStore,
) -> None:
    future = await clock_us(store) + 3_600_000_000
    assert await queued(store, future, {"v": "queued"}) == 1
    await store.aput(NS, "k", {"v": "direct"})
    row = await stored(store)
    assert (row["value"], row["version"]) == ({"v": "direct"}, future + 1)


async def test_a_late_queued_write_older_than_a_direct_write_is_ignored(
    store: PostgresStore,
) -> None:
    await store.aput(NS, "k", {"v": "direct"})
    version = (await stored(store))["version"]
    assert await queued(store, version - 1, {"v": "late"}) == 0
    item = await store.aget(NS, "k")
    assert item is not None
    assert item.value == {"v": "direct"}


async def test_a_direct_delete_is_not_undone_by_a_late_older_queued_put(
    store: PostgresStore,
) -> None:
    await store.aput(NS, "k", {"v": 1})
    await store.adelete(NS, "k")
    tombstone = await stored(store)
    assert tombstone["value"] is None
    assert await queued(store, tombstone["version"] - 1, {"v": "late"}) == 0
    assert await store.aget(NS, "k") is None
    assert await queued(store, tombstone["version"] + 1, {"v": "newer"}) == 1
    item = await store.aget(NS, "k")
    assert item is not None
    assert item.value == {"v": "newer"}


async def test_deleting_a_key_never_written_still_blocks_older_queued_puts(
    store: PostgresStore,
) -> None:
    await store.adelete(NS, "k")
    version = (await stored(store))["version"]
    assert await queued(store, version - 10, {"v": "late"}) == 0
    assert await store.aget(NS, "k") is None


async def test_successive_direct_writes_raise_the_version(store: PostgresStore) -> None:
    versions = []
    for i in range(10):
        await store.aput(NS, "k", {"v": i})
        versions.append((await stored(store))["version"])
    assert versions == sorted(set(versions))
    # Concurrent puts to one key may share or split group commits: one of them
    # wins (no order among callers that did not wait for each other), above all before.
    await asyncio.gather(*(store.aput(NS, "k", {"v": i}) for i in range(100, 120)))
    row = await stored(store)
    assert row["value"]["v"] in range(100, 120)
    assert row["version"] > versions[-1]


async def test_created_at_survives_a_queued_update_of_a_direct_put(store: PostgresStore) -> None:
    await store.aput(NS, "k", {"v": 1})
    first = await stored(store)
    await queued(store, first["version"] + 1, {"v": 2})
    item = await store.aget(NS, "k")
    assert item is not None
    assert item.value == {"v": 2}
    assert item.created_at == first["created_at"]


async def test_a_group_larger_than_one_statement_lands_whole(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "DIRECT_STATEMENT_BYTES", 100)
    puts = [PutOp(NS, f"k{i}", {"text": "x" * 60, "i": i}) for i in range(10)]
    assert len(writes.direct_documents([check_write(p, max_value_bytes=1000) for p in puts])) > 5
    await store.abatch([*puts, PutOp(NS, "k3", None)])
    found = {i.key: i.value["i"] for i in await store.asearch(NS, limit=100)}
    assert found == {f"k{i}": i for i in range(10) if i != 3}
