"""The store port, on PostgreSQL and in memory: the same calls, the same answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.repositories.stores import BaseStoreRepository, MemoryStoreRepository
from infra.stores.postgres import PostgresStore
from infra.stores.repository import PostgresStoreRepository


@pytest.fixture(params=["memory", "postgres"])
async def repo(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[BaseStoreRepository]:
    if request.param == "memory":
        yield MemoryStoreRepository()
        return
    async with PostgresStoreRepository.from_url(database_url, sweep=False) as opened:
        yield opened


async def test_async_put_get_search_delete(repo: BaseStoreRepository) -> None:
    await repo.aput(("users", "u1"), "name", {"name": "Ann"})
    await repo.aput(("users", "u1"), "city", {"city": "Oslo"})
    item = await repo.aget(("users", "u1"), "name")
    assert item is not None
    assert item.value == {"name": "Ann"}
    found = await repo.asearch(("users",), filter={"city": "Oslo"})
    assert [i.key for i in found] == ["city"]
    await repo.adelete(("users", "u1"), "name")
    assert await repo.aget(("users", "u1"), "name") is None


async def test_sync_calls_work_from_a_worker_thread(repo: BaseStoreRepository) -> None:
    await asyncio.to_thread(repo.put, ("users", "u2"), "k", {"v": 1})
    item = await asyncio.to_thread(repo.get, ("users", "u2"), "k")
    assert item is not None
    assert item.value == {"v": 1}
    assert len(await asyncio.to_thread(repo.search, ("users",), limit=5)) == 1
    await asyncio.to_thread(repo.delete, ("users", "u2"), "k")
    assert await repo.aget(("users", "u2"), "k") is None


async def test_the_postgres_repository_sets_up_its_schema(database_url: str) -> None:
    async with PostgresStoreRepository.from_url(database_url, sweep=False) as repo:
        assert isinstance(repo.store, PostgresStore)
        assert await repo.store.setup() == []
        await repo.aput(("n",), "k", {"v": 1}, ttl=5)
        assert await repo.aget(("n",), "k") is not None
