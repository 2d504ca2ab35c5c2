"""Store repositories: long-term, cross-thread memory behind one small port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from langgraph.store.base import NOT_PROVIDED, BaseStore, Item, NotProvided, SearchItem
from langgraph.store.memory import InMemoryStore

from domain.models import Namespace


class BaseStoreRepository(ABC):
    """Puts, gets, searches and deletes long-term items through a langgraph store."""

    @property
    @abstractmethod
    def store(self) -> BaseStore:
        """The store a workflow is compiled with."""

    def put(
        self,
        namespace: Namespace,
        key: str,
        value: dict[str, Any],
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Store a value under (namespace, key); ttl in minutes, None for never."""
        self.store.put(namespace, key, value, ttl=ttl)

    async def aput(
        self,
        namespace: Namespace,
        key: str,
        value: dict[str, Any],
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Async twin of put."""
        await self.store.aput(namespace, key, value, ttl=ttl)

    def get(self, namespace: Namespace, key: str) -> Item | None:
        """The item under (namespace, key), or None."""
        return self.store.get(namespace, key)

    async def aget(self, namespace: Namespace, key: str) -> Item | None:
        """Async twin of get."""
        return await self.store.aget(namespace, key)

    def search(
        self,
        namespace_prefix: Namespace,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[SearchItem]:
        """Items under a namespace prefix matching filter, newest first."""
        return self.store.search(namespace_prefix, filter=filter, limit=limit, offset=offset)

    async def asearch(
        self,
        namespace_prefix: Namespace,
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[SearchItem]:
        """Async twin of search."""
        return await self.store.asearch(namespace_prefix, filter=filter, limit=limit, offset=offset)

    def delete(self, namespace: Namespace, key: str) -> None:
        """Delete the item under (namespace, key); deleting nothing is fine."""
        self.store.delete(namespace, key)

    async def adelete(self, namespace: Namespace, key: str) -> None:
        """Async twin of delete."""
        await self.store.adelete(namespace, key)


class MemoryStoreRepository(BaseStoreRepository):
    """Items in process memory (tests, one-off scripts); gone on exit."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self._store = store if store is not None else InMemoryStore()

    @property
    def store(self) -> InMemoryStore:
        """The in-memory store."""
        return self._store
