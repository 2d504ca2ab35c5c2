"""The store port on PostgreSQL: written directly, or behind the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from domain.repositories.stores import BaseStoreRepository
from infra.stores.postgres import PostgresStore
from infra.stores.queued import QueuedStore


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


class QueuedStoreRepository(BaseStoreRepository):
    """Long-term items written behind an arq queue: chat turns never wait for PostgreSQL.

    Puts and deletes return once Redis has accepted them; reads see them at
    once (read-your-writes); worker processes persist them in group commits.
    """

    def __init__(self, store: QueuedStore) -> None:
        self._store = store

    @classmethod
    @asynccontextmanager
    async def from_url(
        cls, redis_url: str, dsn: str, *, setup: bool = True, **store_options: Any
    ) -> AsyncIterator[QueuedStoreRepository]:
        """A repository on its own queued store (migrated unless ``setup`` is False)."""
        async with QueuedStore.from_url(redis_url, dsn, **store_options) as store:
            if setup:
                await store.setup()
            yield cls(store)

    @property
    def store(self) -> QueuedStore:
        """The queued store."""
        return self._store
