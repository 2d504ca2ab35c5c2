"""PostgresStoreRepository: the store port on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from domain.repositories.stores import BaseStoreRepository
from infra.stores.postgres import PostgresStore


class PostgresStoreRepository(BaseStoreRepository):
    """Long-term items in PostgreSQL through a PostgresStore; permanent and cross-thread."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    @classmethod
    @asynccontextmanager
    async def from_url(
        cls, dsn: str, *, setup: bool = True, **store_options: Any
    ) -> AsyncIterator[PostgresStoreRepository]:
        """A repository on its own store and pool (migrated unless ``setup`` is False)."""
        async with PostgresStore.from_url(dsn, **store_options) as store:
            if setup:
                await store.setup()
            yield cls(store)

    @property
    def store(self) -> PostgresStore:
        """The PostgreSQL store."""
        return self._store
