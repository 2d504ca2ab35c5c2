"""A stored row as reads return it: the item, its version and whether it is visible."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from langgraph.store.base import Item, SearchItem

from domain.models import Namespace


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One row of chatmem_store.

    ``value`` is None for a tombstone; ``live`` is False for a tombstone or an
    expired item (which only ``include_dead`` reads return). ``version`` orders
    it against other writes of the same key, queued ones included.
    """

    namespace: Namespace
    key: str
    value: dict[str, Any] | None
    version: int
    created_at: datetime
    updated_at: datetime
    live: bool = True

    def item(self) -> Item:
        """As langgraph's Item."""
        return Item(
            value=self.value if self.value is not None else {},
            key=self.key,
            namespace=self.namespace,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def search_item(self) -> SearchItem:
        """As langgraph's SearchItem (no score: there is no vector search)."""
        return SearchItem(
            namespace=self.namespace,
            key=self.key,
            value=self.value if self.value is not None else {},
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def stored_item(row: asyncpg.Record) -> StoredItem:
    """A row of the store's read statements as a StoredItem."""
    return StoredItem(
        namespace=tuple(row["namespace"].split(".")),
        key=row["key"],
        value=row["value"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        live=row.get("live", True),
    )
