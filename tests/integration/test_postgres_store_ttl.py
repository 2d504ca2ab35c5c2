"""TTL on PostgresStore (InMemoryStore has none): expiry, refresh on read, the sweeper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from langgraph.store.base import TTLConfig

from infra.stores.postgres import PostgresStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresStore]:
    async with PostgresStore.from_url(database_url, sweep=False) as opened:
        await opened.setup()
        yield opened


async def row(store: PostgresStore, key: str) -> asyncpg.Record:
    found = await store.client.pool.fetchrow(
        "SELECT *, expires_at - now() AS left FROM chatmem_store WHERE key = $1", key
    )
    assert found is not None
    return found


async def set_expiry(store: PostgresStore, key: str, seconds_from_now: float) -> None:
    await store.client.pool.execute(
        "UPDATE chatmem_store SET expires_at = now() + make_interval(secs => $2) WHERE key = $1",
        key,
        seconds_from_now,
    )


async def test_a_put_with_ttl_expires_that_many_minutes_after_the_write(
    store: PostgresStore,
) -> None:
    await store.aput(("t",), "k", {"v": 1}, ttl=30)
    stored = await row(store, "k")
    assert stored["ttl_minutes"] == 30
    assert stored["expires_at"] - stored["updated_at"] == timedelta(minutes=30)


async def test_default_ttl_applies_unless_the_put_says_otherwise(database_url: str) -> None:
    config = TTLConfig(default_ttl=10)
    async with PostgresStore.from_url(database_url, ttl=config, sweep=False) as store:
        await store.setup()
        await store.aput(("t",), "default", {"v": 1})
        await store.aput(("t",), "own", {"v": 1}, ttl=2)
        await store.aput(("t",), "never", {"v": 1}, ttl=None)
        assert (await row(store, "default"))["ttl_minutes"] == 10
        assert (await row(store, "own"))["ttl_minutes"] == 2
        assert (await row(store, "never"))["expires_at"] is None


async def test_an_expired_item_is_invisible_before_any_sweep(store: PostgresStore) -> None:
    await store.aput(("t", "x"), "k", {"v": 1}, ttl=1)
    await store.aput(("t",), "live", {"v": 1})
    await set_expiry(store, "k", -1)
    assert await store.aget(("t", "x"), "k") is None
    assert [i.key for i in await store.asearch(("t",))] == ["live"]
    assert await store.alist_namespaces() == [("t",)]
    assert (await row(store, "k"))["value"] == {"v": 1}


async def test_a_short_ttl_runs_out_on_its_own(store: PostgresStore) -> None:
    await store.aput(("t",), "k", {"v": 1}, ttl=0.003)
    assert await store.aget(("t",), "k", refresh_ttl=False) is not None
    await asyncio.sleep(0.4)
    assert await store.aget(("t",), "k") is None


@pytest.mark.parametrize("read", ["get", "search"])
async def test_reading_restarts_the_ttl(store: PostgresStore, read: str) -> None:
    await store.aput(("t",), "k", {"v": 1}, ttl=1)
    await set_expiry(store, "k", 2)
    if read == "get":
        assert await store.aget(("t",), "k") is not None
    else:
        assert len(await store.asearch(("t",))) == 1
    assert (await row(store, "k"))["left"] > timedelta(seconds=50)


async def test_refresh_can_be_turned_off_by_config_and_asked_for_per_read(
    database_url: str,
) -> None:
    config = TTLConfig(refresh_on_read=False)
    async with PostgresStore.from_url(database_url, ttl=config, sweep=False) as store:
        await store.setup()
        await store.aput(("t",), "k", {"v": 1}, ttl=1)
        await set_expiry(store, "k", 2)
        await store.aget(("t",), "k")
        await store.asearch(("t",))
        assert (await row(store, "k"))["left"] < timedelta(seconds=3)
        await store.aget(("t",), "k", refresh_ttl=True)
        assert (await row(store, "k"))["left"] > timedelta(seconds=50)


async def test_reading_does_not_revive_an_expired_item(store: PostgresStore) -> None:
    await store.aput(("t",), "k", {"v": 1}, ttl=1)
    await set_expiry(store, "k", -1)
    assert await store.aget(("t",), "k", refresh_ttl=True) is None
    assert (await row(store, "k"))["left"] < timedelta(0)


async def test_putting_an_expired_key_starts_a_new_item(store: PostgresStore) -> None:
    await store.aput(("t",), "k", {"v": 1}, ttl=1)
    before = await row(store, "k")
    await set_expiry(store, "k", -1)
    await store.aput(("t",), "k", {"v": 2})
    item = await store.aget(("t",), "k")
    assert item is not None
    assert item.value == {"v": 2}
    assert item.created_at > before["created_at"]


async def _rows(store: PostgresStore) -> dict[str, dict[str, Any]]:
    records = await store.client.pool.fetch("SELECT * FROM chatmem_store")
    return {r["key"]: dict(r) for r in records}


async def test_sweep_turns_expired_items_into_tombstones_and_drops_old_ones(
    store: PostgresStore,
) -> None:
    await store.aput(("t",), "live", {"v": 1}, ttl=60)
    await store.aput(("t",), "expired", {"v": 1}, ttl=1)
    await store.aput(("t",), "deleted", {"v": 1})
    await store.adelete(("t",), "deleted")
    await store.adelete(("t",), "old")
    await set_expiry(store, "expired", -1)
    await store.client.pool.execute(
        "UPDATE chatmem_store SET updated_at = now() - interval '8 days' WHERE key = 'old'"
    )
    versions = {k: r["version"] for k, r in (await _rows(store)).items()}

    result = await store.sweep()

    rows = await _rows(store)
    assert (result.expired, result.tombstones_dropped) == (1, 1)
    assert set(rows) == {"live", "expired", "deleted"}
    assert rows["live"]["value"] == {"v": 1}
    assert rows["expired"]["value"] is None
    assert rows["expired"]["version"] == versions["expired"]
    assert rows["expired"]["expires_at"] is None
    assert rows["deleted"]["value"] is None
    assert await store.sweep() == type(result)(0, 0)


async def test_the_sweeper_task_sweeps_on_its_interval(database_url: str) -> None:
    config = TTLConfig(sweep_interval_minutes=0.002)  # type: ignore[typeddict-item]
    retention = timedelta(milliseconds=1)
    async with PostgresStore.from_url(
        database_url, ttl=config, tombstone_retention=retention
    ) as store:
        await store.setup()
        await store.aput(("t",), "k", {"v": 1}, ttl=0.001)
        for _ in range(100):
            if not await _rows(store):
                break
            await asyncio.sleep(0.05)
        assert await _rows(store) == {}
        assert store.sweeper.passes >= 1
    assert not store.sweeper.running
