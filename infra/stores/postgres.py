"""PostgresStore: langgraph's BaseStore on PostgreSQL through an asyncpg pool.

Every op goes through ``abatch``: the batch is checked in full before any SQL
runs, its reads run first (they see the state before the batch's writes, as
in langgraph's stores), then its writes, merged with the writes of concurrent
callers into one statement (group commit). Direct writes follow the version
rule of infra.stores.writes, so they order correctly against queued writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    ListNamespacesOp,
    Op,
    Result,
    SearchOp,
    TTLConfig,
)

from domain.models import Namespace
from infra.migrations import apply_migrations
from infra.postgres_client import CONNECTION_ERRORS, Connection, PostgresClient, unavailable
from infra.stores.batcher import WriteBatcher
from infra.stores.ops import Batch, Listing, Search, check_listing, check_search, prepare, readable
from infra.stores.postgres_sql import get_statement, listing_statement, search_statement
from infra.stores.stored import StoredItem, stored_item
from infra.stores.sweeper import (
    DEFAULT_SWEEP_INTERVAL_MINUTES,
    DEFAULT_TOMBSTONE_RETENTION,
    Sweeper,
    SweepResult,
)
from infra.stores.sync_calls import run_batch
from infra.stores.validation import DEFAULT_MAX_VALUE_BYTES
from infra.stores.writers import DROPPED, WriterConnections
from infra.stores.writes import DirectWrite, namespace_text

# Every statement of the store is an index lookup or an index range. Without
# this, a plan PostgreSQL caches while the table is still tiny (a sequential
# scan, a hash join) stays in use as the table grows, until autovacuum next
# analyses it: gets would slow down from a fraction of a millisecond to many.
SESSION_SETTINGS = {"enable_seqscan": "off"}


async def keep_session(conn: Connection) -> None:
    """Pool reset hook that leaves the session as it is.

    The store keeps no session state (no SET, LISTEN or session-level locks),
    so asyncpg's default reset query would only cost a round trip per release.
    asyncpg still rolls back a transaction left open.
    """


class PostgresStore(BaseStore):
    """A langgraph store on PostgreSQL: namespaces, filters, pagination, TTL, group commit.

    Build it with ``async with PostgresStore.from_url(dsn) as store`` and call
    ``await store.setup()`` once. Sync methods run on the store's event loop
    from other threads and refuse to run on that loop's own thread. A client
    shared with other code should be connected with
    ``server_settings=SESSION_SETTINGS`` and ``reset=keep_session``; close
    such a store (``aclose``) before its pool.
    """

    supports_ttl = True

    def __init__(
        self,
        client: PostgresClient,
        *,
        ttl: TTLConfig | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        tombstone_retention: timedelta = DEFAULT_TOMBSTONE_RETENTION,
        max_inflight_commits: int = 2,
    ) -> None:
        self._client = client
        self._loop = asyncio.get_running_loop()
        self.ttl_config = ttl
        self.max_value_bytes = max_value_bytes
        self._writers = WriterConnections(client.pool)
        self._batcher: WriteBatcher[DirectWrite] = WriteBatcher(
            self._commit, max_inflight=max_inflight_commits
        )
        interval = (ttl or {}).get("sweep_interval_minutes") or DEFAULT_SWEEP_INTERVAL_MINUTES
        self.sweeper = Sweeper(
            client.pool, interval_minutes=interval, retention=tombstone_retention
        )

    @classmethod
    @asynccontextmanager
    async def from_url(
        cls,
        dsn: str,
        *,
        ttl: TTLConfig | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        tombstone_retention: timedelta = DEFAULT_TOMBSTONE_RETENTION,
        min_size: int = 1,
        max_size: int = 10,
        sweep: bool = True,
    ) -> AsyncIterator[PostgresStore]:
        """A store on its own pool, closed on exit; ``sweep`` runs the sweeper meanwhile."""
        client = await PostgresClient.connect(
            dsn,
            min_size=min_size,
            max_size=max_size,
            reset=keep_session,
            server_settings=SESSION_SETTINGS,
        )
        try:
            store = cls(
                client,
                ttl=ttl,
                max_value_bytes=max_value_bytes,
                tombstone_retention=tombstone_retention,
            )
            if sweep:
                store.sweeper.start()
            try:
                yield store
            finally:
                await store.aclose()
        finally:
            await client.close()

    @property
    def client(self) -> PostgresClient:
        """The PostgreSQL client (and pool) the store reads and writes through."""
        return self._client

    @property
    def group_commits(self) -> int:
        """How many write statements the group commit has run so far."""
        return self._batcher.commits

    async def setup(self) -> list[int]:
        """Apply the missing migrations (idempotent; concurrent callers serialise)."""
        async with self._connection() as conn:
            return await apply_migrations(conn)

    async def sweep(self) -> SweepResult:
        """Expire and drop now what the sweeper would on its next pass."""
        return await self.sweeper.run_once()

    async def aclose(self) -> None:
        """Stop the sweeper and wait for writes in flight; the pool stays with its owner."""
        await self.sweeper.stop()
        await self._batcher.wait_idle()
        await self._writers.close()

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``abatch`` on the store's loop from another thread and wait for it."""
        return run_batch("PostgresStore", self._loop, self.abatch, ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Results in op order; puts to one (namespace, key) collapse, the last one wins."""
        batch = prepare(ops, max_value_bytes=self.max_value_bytes)
        results: list[Result] = [None] * batch.size
        if batch.gets or batch.searches or batch.listings:
            async with self._connection() as conn:
                await self._read(conn, batch, results)
        if batch.writes:
            await self._batcher.submit(batch.writes)
        return results

    async def _read(self, conn: Connection, batch: Batch, results: list[Result]) -> None:
        if batch.gets:
            found = await _get(conn, [op for _, op in batch.gets], include_dead=False)
            for (index, _), stored in zip(batch.gets, found, strict=True):
                results[index] = None if stored is None else stored.item()
        for index, search in batch.searches:
            results[index] = [s.search_item() for s in await _search(conn, search)]
        for index, listing in batch.listings:
            results[index] = await _list(conn, listing)

    async def _commit(self, writes: list[DirectWrite]) -> None:
        try:
            await self._writers.commit(writes)
        except DROPPED as exc:
            raise unavailable(self._client.dsn, exc) from None

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        try:
            async with self._client.pool.acquire() as conn:
                yield conn
        except CONNECTION_ERRORS as exc:
            raise unavailable(self._client.dsn, exc) from None

    # The API below serves stores that merge their pending writes with what is
    # stored (the queued store): rows with their versions, pages they choose.

    async def fetch_stored(
        self, ops: Sequence[GetOp], *, include_dead: bool = False
    ) -> list[StoredItem | None]:
        """The stored row of each GetOp, in order (None: no row), refreshing TTLs as asked.

        With ``include_dead`` a tombstone or an expired item comes back too
        (``live`` False, value None for a tombstone), so that a pending write
        can be compared with the version that would win against it.
        """
        wanted = [(i, op) for i, op in enumerate(ops) if readable(op.namespace, op.key)]
        results: list[StoredItem | None] = [None] * len(ops)
        if wanted:
            async with self._connection() as conn:
                found = await _get(conn, [op for _, op in wanted], include_dead=include_dead)
            for (index, _), stored in zip(wanted, found, strict=True):
                results[index] = stored
        return results

    async def search_stored(self, op: SearchOp) -> list[StoredItem]:
        """Live items of a SearchOp, newest first, honouring its limit and offset.

        To merge pending writes into a page, ask for offset 0 and a limit of
        offset + limit + the number of pending entries under the prefix, merge
        with ``matching.matches`` on the pending values, then cut the page.
        """
        search = check_search(op)
        async with self._connection() as conn:
            return await _search(conn, search)

    async def list_stored_namespaces(self, op: ListNamespacesOp) -> list[Namespace]:
        """Namespaces with live items for a ListNamespacesOp, sorted as tuples, one page.

        ``matching.condition_holds`` and ``matching.truncate`` apply the same
        conditions and depth to the namespaces of pending writes.
        """
        listing = check_listing(op)
        async with self._connection() as conn:
            return await _list(conn, listing)


async def _get(
    conn: Connection, ops: Sequence[GetOp], *, include_dead: bool
) -> list[StoredItem | None]:
    refresh: dict[tuple[str, str], bool] = {}
    for op in ops:
        ident = (namespace_text(op.namespace), op.key)
        refresh[ident] = refresh.get(ident, False) or bool(op.refresh_ttl)
    idents = list(refresh)
    args: list[Any] = [[n for n, _ in idents], [k for _, k in idents]]
    any_refresh = any(refresh.values())
    if any_refresh:
        args.append(list(refresh.values()))
    rows = await conn.fetch(get_statement(refresh=any_refresh, include_dead=include_dead), *args)
    by_ident = {(row["namespace"], row["key"]): stored_item(row) for row in rows}
    return [by_ident.get((namespace_text(op.namespace), op.key)) for op in ops]


async def _search(conn: Connection, search: Search) -> list[StoredItem]:
    sql, args = search_statement(search)
    return [stored_item(row) for row in await conn.fetch(sql, *args)]


async def _list(conn: Connection, listing: Listing) -> list[Namespace]:
    sql, args = listing_statement(listing)
    return [tuple(row["labels"]) for row in await conn.fetch(sql, *args)]
