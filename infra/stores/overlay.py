"""Read-your-writes: pending writes laid over what PostgreSQL holds.

Pure functions: the queued store reads the pending writes first, then the
stored rows (so a write accepted before the read began is seen either way),
and these decide what a get, a search or a namespace listing returns. Of a
pending write and a stored row of the same key, the higher version wins; a
pending delete, or a pending put that has expired, hides the stored item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from langgraph.store.base import Item, MatchCondition, SearchItem

from domain.models import Namespace, StoreWrite
from infra.stores.matching import Condition, condition_holds, matches, truncate
from infra.stores.pending import is_live
from infra.stores.stored import StoredItem
from infra.stores.writes import namespace_text

Ident = tuple[Namespace, str]


def _wins(pending: StoreWrite, stored: StoredItem | None) -> bool:
    # Equal versions are the same write, seen before and after its commit.
    return stored is None or pending.version >= stored.version


def _created_at(pending: StoreWrite, stored: StoredItem | None) -> datetime:
    # As the upsert decides: kept from a live item, restarted after a delete or expiry.
    if stored is not None and stored.live and stored.value is not None:
        return stored.created_at
    return pending.written_at


def merge_get(pending: StoreWrite | None, stored: StoredItem | None, now: datetime) -> Item | None:
    """What a get returns, given the key's pending write and stored row (dead rows too)."""
    if pending is None or not _wins(pending, stored):
        return stored.item() if stored is not None and stored.live else None
    if not is_live(pending, now) or pending.value is None:
        return None
    return Item(
        value=dict(pending.value),
        key=pending.key,
        namespace=pending.namespace,
        created_at=_created_at(pending, stored),
        updated_at=pending.written_at,
    )


def merge_search(
    pending: Iterable[StoreWrite],
    page: Sequence[StoredItem],
    stored_of_pending: Mapping[Ident, StoredItem | None],
    conditions: Sequence[Condition],
    *,
    limit: int,
    offset: int,
    now: datetime,
) -> list[SearchItem]:
    """One page of a search, newest first.

    ``page`` is the stored search from offset 0 with ``offset + limit +``
    (number of pending writes) items: each pending write hides at most one of
    them, so the page still holds every stored item the result can contain.
    ``stored_of_pending`` is the stored row (dead ones too) of each pending key.
    """
    by_ident = {w.identity: w for w in pending}
    merged = [
        stored.search_item()
        for stored in page
        if (w := by_ident.get((stored.namespace, stored.key))) is None or not _wins(w, stored)
    ]
    for ident, w in by_ident.items():
        stored = stored_of_pending.get(ident)
        if not _wins(w, stored) or not is_live(w, now) or w.value is None:
            continue
        if not matches(w.value, conditions):
            continue
        merged.append(
            SearchItem(
                namespace=w.namespace,
                key=w.key,
                value=dict(w.value),
                created_at=_created_at(w, stored),
                updated_at=w.written_at,
            )
        )
    sort_newest_first(merged)
    return merged[offset : offset + limit]


def sort_newest_first(items: list[SearchItem]) -> None:
    """The stored search's order: updated_at descending, then namespace text and key.

    Two stable sorts; Python compares strings by code point, which is the
    byte order of their UTF-8 (PostgreSQL's "C" collation).
    """
    items.sort(key=lambda item: (namespace_text(item.namespace), item.key))
    items.sort(key=lambda item: item.updated_at, reverse=True)


def holds(namespace: Namespace, conditions: Sequence[MatchCondition]) -> bool:
    """Whether a namespace meets every list_namespaces condition."""
    return all(condition_holds(namespace, c) for c in conditions)


def literal_prefix(conditions: Sequence[MatchCondition]) -> Namespace:
    """The labels every listed namespace must start with (before any '*')."""
    for condition in conditions:
        if condition.match_type == "prefix":
            labels = tuple(condition.path)
            return labels[: labels.index("*")] if "*" in labels else labels
    return ()


def pending_namespaces(
    pending: Iterable[StoreWrite],
    conditions: Sequence[MatchCondition],
    max_depth: int | None,
    now: datetime,
) -> tuple[set[Namespace], dict[Namespace, set[str]]]:
    """Namespaces pending puts bring (as listed), and keys pending writes hide, by namespace."""
    shown: set[Namespace] = set()
    hidden: dict[Namespace, set[str]] = {}
    for w in pending:
        if not holds(w.namespace, conditions):
            continue
        if is_live(w, now):
            shown.add(truncate(w.namespace, max_depth))
        else:
            hidden.setdefault(w.namespace, set()).add(w.key)
    return shown, hidden


def merge_namespaces(
    stored: Iterable[Namespace],
    shown: set[Namespace],
    emptied: set[Namespace],
    *,
    limit: int,
    offset: int,
) -> list[Namespace]:
    """One page of list_namespaces: stored ones but those emptied, plus pending ones."""
    names = (set(stored) - emptied) | shown
    return sorted(names)[offset : offset + limit]
