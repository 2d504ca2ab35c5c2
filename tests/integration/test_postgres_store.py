"""PostgresStore alone: hostile input, setup, event-loop rules, group commit, merge API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, PutOp, SearchOp

from domain.errors import InvalidNamespaceError, InvalidWriteError, ServiceUnavailableError
from infra.migrations import MIGRATIONS
from infra.postgres_client import PostgresClient
from infra.stores.ops import check_search
from infra.stores.postgres import PostgresStore
from infra.stores.postgres_sql import get_statement, search_statement

HOSTILE = [
    "'; DROP TABLE chatmem_store; --",
    'say "hi"',
    "it's",
    "back\\slash\\",
    "100%",
    "under_score",
    "%_%",
    "🧠🔥 emoji",
    "ümlaut",
    "e\u0301",
    "é",
    "tab\tnew\nline",
    "*",
    "$1",
    "/",
    " ",
]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresStore]:
    async with PostgresStore.from_url(database_url, sweep=False) as opened:
        await opened.setup()
        yield opened


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_and_unicode_labels_and_keys_round_trip_exactly(
    store: PostgresStore, text: str
) -> None:
    namespace = ("users", text, "facts")
    await store.aput(namespace, text, {"text": text})
    await store.aput(("users", "plain", "facts"), "plain", {"text": "plain"})
    item = await store.aget(namespace, text)
    assert item is not None
    assert (item.namespace, item.key, item.value) == (namespace, text, {"text": text})
    assert [i.key for i in await store.asearch(("users", text))] == [text]
    assert [i.key for i in await store.asearch(("users",), filter={"text": text})] == [text]
    # In a namespace condition '*' is always the wildcard, as in langgraph.
    listed = sorted({namespace, ("users", "plain", "facts")}) if text == "*" else [namespace]
    assert await store.alist_namespaces(prefix=("users", text)) == listed
    assert await store.alist_namespaces(suffix=(text, "facts")) == listed
    await store.adelete(namespace, text)
    assert await store.aget(namespace, text) is None
    assert await store.alist_namespaces() == [("users", "plain", "facts")]


async def test_like_and_regex_characters_are_not_wildcards(store: PostgresStore) -> None:
    for label in ["a_c", "abc", "a%", "ab", "a\\", "ax", "a["]:
        await store.aput((label, "n"), "k", {"label": label})
    assert {i.namespace for i in await store.asearch(("a_c",))} == {("a_c", "n")}
    assert {i.namespace for i in await store.asearch(("a%",))} == {("a%", "n")}
    assert {i.namespace for i in await store.asearch(("a\\",))} == {("a\\", "n")}
    assert await store.alist_namespaces(prefix=("a[",)) == [("a[", "n")]
    assert await store.alist_namespaces(prefix=("a_c", "*")) == [("a_c", "n")]


async def test_a_prefix_excludes_siblings_that_sort_inside_its_range(store: PostgresStore) -> None:
    spaces = [("a",), ("a!",), ("a-",), ("a/",), ("a0",), ("aé",), ("a", "!"), ("a", "/")]
    for ns in spaces:
        await store.aput(ns, "k", {"v": 1})
    found = {i.namespace for i in await store.asearch(("a",), limit=100)}
    assert found == {("a",), ("a", "!"), ("a", "/")}
    assert await store.alist_namespaces(prefix=("a",)) == [("a",), ("a", "!"), ("a", "/")]


async def test_hostile_filter_fields_and_operands_are_only_data(store: PostgresStore) -> None:
    await store.aput(("f",), "k", {"'; DROP TABLE chatmem_store; --": "x", "n": 5})
    evil = "'; DROP TABLE chatmem_store; --"
    assert len(await store.asearch(("f",), filter={evil: "x"})) == 1
    assert await store.asearch(("f",), filter={"n": {"$gt": "5') OR true; --"}}) == []
    assert await store.asearch(("f",), filter={"n": evil}) == []
    assert await store.aget(("f",), "k") is not None


@pytest.mark.parametrize("key", ["lone \udc00", "k" * 1025, ""])
async def test_reading_a_key_no_write_could_store_is_none(store: PostgresStore, key: str) -> None:
    assert await store.aget(("f",), key) is None
    with pytest.raises(InvalidWriteError):
        await store.aput(("f",), key, {"v": 1})


async def test_a_label_with_a_lone_surrogate_is_refused(store: PostgresStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        await store.aput(("bad \ud800",), "k", {"v": 1})


async def test_setup_is_idempotent(store: PostgresStore) -> None:
    assert await store.setup() == []
    async with store.client.pool.acquire() as conn:
        assert await conn.fetchval("SELECT max(version) FROM chatmem_migrations") == len(MIGRATIONS)


async def test_concurrent_setups_apply_each_migration_once(database_url: str) -> None:
    async with (
        PostgresStore.from_url(database_url, sweep=False) as one,
        PostgresStore.from_url(database_url, sweep=False) as two,
    ):
        results = await asyncio.gather(one.setup(), two.setup(), one.setup())
        assert sorted(v for applied in results for v in applied) == list(
            range(1, len(MIGRATIONS) + 1)
        )


async def test_sync_calls_on_the_stores_own_loop_are_refused(store: PostgresStore) -> None:
    with pytest.raises(asyncio.InvalidStateError, match="aget"):
        store.get(("n",), "k")
    with pytest.raises(asyncio.InvalidStateError):
        store.put(("n",), "k", {"v": 1})
    assert await store.aget(("n",), "k") is None


async def test_concurrent_writers_share_commits(store: PostgresStore) -> None:
    await store.aput(("g",), "alone", {"v": 0})
    assert store.group_commits == 1
    await asyncio.gather(*(store.aput(("g",), f"k{i}", {"v": i}) for i in range(60)))
    assert store.group_commits < 1 + 60 / 4
    found = await store.asearch(("g",), limit=100)
    assert len(found) == 61


async def test_plans_cached_while_the_table_is_tiny_are_index_lookups(
    store: PostgresStore,
) -> None:
    # A generic plan made now would be kept as the table grows: it must not scan it all.
    await store.abatch([PutOp(("p",), f"k{i}", {"v": i}) for i in range(50)])
    search = check_search(SearchOp(("p",), filter={"v": 1}))
    statements = [
        (get_statement(refresh=True, include_dead=False), (["p"], ["k"], [True])),
        search_statement(search),
    ]
    async with store.client.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        for sql, args in statements:
            await conn.execute(f"PREPARE cached AS {sql}")
            # A generic plan does not depend on the arguments: NULLs will do.
            nulls = ", ".join(["NULL"] * len(args))
            rows = await conn.fetch(f"EXPLAIN EXECUTE cached({nulls})")
            await conn.execute("DEALLOCATE cached")
            plan = "\n".join(r[0] for r in rows)
            assert "chatmem_store_pkey" in plan
            assert "Seq Scan on chatmem_store" not in plan


async def test_writes_recover_when_the_server_drops_the_connections(
    store: PostgresStore, database_url: str
) -> None:
    await store.aput(("r",), "before", {"v": 1})
    admin = await asyncpg.connect(database_url)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert killed >= 1
    await asyncio.sleep(0.05)  # as after a restart: the client has seen the sockets close
    await store.aput(("r",), "after", {"v": 2})
    item = await store.aget(("r",), "after")
    assert item is not None
    assert item.value == {"v": 2}


async def test_an_idle_store_gives_its_connections_back_to_a_shared_pool(
    database_url: str,
) -> None:
    client = await PostgresClient.connect(database_url, max_size=3)
    try:
        store = PostgresStore(client)
        await store.setup()
        await asyncio.gather(*(store.aput(("s",), f"k{i}", {"v": i}) for i in range(20)))
        assert client.pool.get_idle_size() < client.pool.get_size()
    finally:
        # Without aclose: the pool must still close once the store is idle.
        await asyncio.wait_for(client.close(), 10)


async def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(ServiceUnavailableError, match="PostgreSQL"):
        async with PostgresStore.from_url("postgresql://postgres:secret@127.0.0.1:9/x"):
            pass


async def test_fetch_stored_shows_tombstones_and_versions_when_asked(
    store: PostgresStore,
) -> None:
    await store.aput(("m",), "live", {"v": 1})
    await store.aput(("m",), "dead", {"v": 1})
    await store.adelete(("m",), "dead")
    ops = [GetOp(("m",), "live"), GetOp(("m",), "dead"), GetOp(("m",), "none")]
    live, dead, none = await store.fetch_stored(ops, include_dead=True)
    assert live is not None
    assert dead is not None
    assert (live.live, live.value) == (True, {"v": 1})
    assert (dead.live, dead.value) == (False, None)
    assert dead.version > live.version
    assert none is None
    assert await store.fetch_stored(ops) == [live, None, None]


async def test_search_and_list_stored_answer_with_versions_and_wider_pages(
    store: PostgresStore,
) -> None:
    for i in range(5):
        await store.aput(("m", str(i)), "k", {"i": i})
    rows = await store.search_stored(SearchOp(("m",), limit=4, offset=0))
    assert [r.value for r in rows] == [{"i": 4}, {"i": 3}, {"i": 2}, {"i": 1}]
    assert all(r.version > 0 for r in rows)
    listing = ListNamespacesOp((MatchCondition("prefix", ("m",)),), max_depth=2, limit=2)
    assert await store.list_stored_namespaces(listing) == [("m", "0"), ("m", "1")]
