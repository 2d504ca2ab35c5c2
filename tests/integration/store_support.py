"""Stores for the behavioural suites: langgraph's InMemoryStore (the reference) and ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from infra.stores.postgres import PostgresStore

STORE_KINDS = ["memory", "postgres"]


@asynccontextmanager
async def open_store(kind: str, database_url: str, **kw: Any) -> AsyncIterator[BaseStore]:
    """An empty store of ``kind``; a PostgresStore on the test's own schema, set up."""
    if kind == "memory":
        yield InMemoryStore()
        return
    async with PostgresStore.from_url(database_url, **kw) as store:
        await store.setup()
        yield store


def is_reference(store: BaseStore) -> bool:
    """Whether ``store`` is langgraph's InMemoryStore, whose known defects tests spell out."""
    return isinstance(store, InMemoryStore)
