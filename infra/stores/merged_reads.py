"""The reads of the queued store: pending writes from Redis laid over PostgreSQL.

Each read takes the pending writes first, then the stored rows, so a write
accepted before the read began is seen, pending or (once committed and
cleared) stored; infra.stores.overlay decides what wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, Op, Result, SearchOp

from domain.models import Namespace
from infra.stores.matching import truncate
from infra.stores.ops import check_listing, check_search, readable
from infra.stores.overlay import (
    holds,
    literal_prefix,
    merge_get,
    merge_namespaces,
    merge_search,
    pending_namespaces,
)
from infra.stores.pending import PendingReader
from infra.stores.postgres import PostgresStore


class MergedReads:
    """get, search and list_namespaces with read-your-writes over one queue."""

    def __init__(self, pending: PendingReader, postgres: PostgresStore) -> None:
        self._pending = pending
        self._postgres = postgres

    async def run(self, ops: list[Op]) -> list[Result]:
        """The results of the read ops among ``ops``, in place (None for the others)."""
        results: list[Result] = [None] * len(ops)
        gets = [(i, op) for i, op in enumerate(ops) if isinstance(op, GetOp)]
        if gets:
            found = await self._get([op for _, op in gets])
            for (i, _), item in zip(gets, found, strict=True):
                results[i] = item
        for i, op in enumerate(ops):
            if isinstance(op, SearchOp):
                results[i] = await self._search(op)
            elif isinstance(op, ListNamespacesOp):
                results[i] = await self._list(op)
        return results

    async def _get(self, ops: list[GetOp]) -> list[Result]:
        idents = [(tuple(op.namespace), op.key) for op in ops]
        wanted = [ident for ident in idents if readable(*ident)]
        pending = dict(zip(wanted, await self._pending.by_key(wanted), strict=True))
        stored = await self._postgres.fetch_stored(ops, include_dead=True)
        now = datetime.now(UTC)
        return [
            merge_get(pending.get(ident), row, now)
            for ident, row in zip(idents, stored, strict=True)
        ]

    async def _search(self, op: SearchOp) -> Result:
        search = check_search(op)
        pending = await self._pending.under(search.prefix)
        wide = op._replace(limit=search.offset + search.limit + len(pending), offset=0)
        page = await self._postgres.search_stored(wide)
        rows = await self._postgres.fetch_stored(
            [GetOp(w.namespace, w.key, refresh_ttl=False) for w in pending], include_dead=True
        )
        return merge_search(
            pending,
            page,
            {w.identity: row for w, row in zip(pending, rows, strict=True)},
            search.conditions,
            limit=search.limit,
            offset=search.offset,
            now=datetime.now(UTC),
        )

    async def _list(self, op: ListNamespacesOp) -> Result:
        listing = check_listing(op)
        conditions = listing.conditions
        pending = await self._pending.under(literal_prefix(conditions))
        shown, hidden = pending_namespaces(
            pending, conditions, listing.max_depth, datetime.now(UTC)
        )
        wide = op._replace(limit=listing.offset + listing.limit + len(hidden), offset=0)
        stored = await self._postgres.list_stored_namespaces(wide)
        emptied = await self._emptied(stored, shown, hidden, listing.max_depth, conditions)
        return merge_namespaces(stored, shown, emptied, limit=listing.limit, offset=listing.offset)

    async def _emptied(
        self,
        stored: list[Namespace],
        shown: set[Namespace],
        hidden: dict[Namespace, set[str]],
        depth: int | None,
        conditions: Sequence[MatchCondition],
    ) -> set[Namespace]:
        """Listed namespaces whose every stored item a pending delete (or expiry) hides."""
        candidates = {truncate(n, depth) for n in hidden} & set(stored)
        emptied: set[Namespace] = set()
        for listed in candidates - shown:
            if not await self._survives(listed, hidden, conditions):
                emptied.add(listed)
        return emptied

    async def _survives(
        self,
        listed: Namespace,
        hidden: dict[Namespace, set[str]],
        conditions: Sequence[MatchCondition],
    ) -> bool:
        """Whether a stored item under ``listed`` stays visible despite the pending writes."""
        page = sum(len(keys) for ns, keys in hidden.items() if ns[: len(listed)] == listed) + 1
        offset = 0
        while True:
            items = await self._postgres.search_stored(
                SearchOp(listed, None, limit=page, offset=offset, refresh_ttl=False)
            )
            for item in items:
                gone = hidden.get(item.namespace, set())
                if holds(item.namespace, conditions) and item.key not in gone:
                    return True
            if len(items) < page:
                return False
            offset += page
