"""Value objects shared by every layer: one store write, as queued and persisted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

WriteKind = Literal["put", "delete"]
Namespace = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """One put or delete of a (namespace, key), ordered against others by ``version``.

    ``version`` grows in the order in which the writes were accepted, so the
    highest version of a key is its latest write, however late a retry of an
    older one arrives. ``value`` is None for a delete. ``ttl_minutes`` None
    means the item never expires.
    """

    op: WriteKind
    namespace: Namespace
    key: str
    value: Mapping[str, Any] | None
    ttl_minutes: float | None
    version: int
    written_at: datetime

    @property
    def is_delete(self) -> bool:
        """True for a delete (stored as a tombstone so a late put cannot undo it)."""
        return self.op == "delete"

    @property
    def identity(self) -> tuple[Namespace, str]:
        """The (namespace, key) this write addresses."""
        return (self.namespace, self.key)
