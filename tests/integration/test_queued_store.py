"""QueuedStore on real Redis and PostgreSQL: writes queued, reads merged, as if persisted."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, Op, SearchOp

from domain.errors import InvalidNamespaceError, InvalidValueError, ServiceUnavailableError
from infra.stores.keys import QueueKeys
from infra.stores.queued import QueuedStore
from tests.integration.conftest import Drain


@pytest.fixture
async def store(redis_url: str, database_url: str, keys: QueueKeys) -> AsyncIterator[QueuedStore]:
    async with QueuedStore.from_url(redis_url, database_url, queue_name=keys.queue) as store:
        await store.setup()
        yield store


async def test_a_put_is_readable_at_once_before_any_worker_runs(store: QueuedStore) -> None:
    await store.aput(("users", "u1"), "prefs", {"lang": "en", "tags": []})
    item = await store.aget(("users", "u1"), "prefs")
    assert item is not None
    assert item.value == {"lang": "en", "tags": []}
    assert [i.key for i in await store.asearch(("users",))] == ["prefs"]
    assert await store.alist_namespaces() == [("users", "u1")]
    assert await store.postgres.aget(("users", "u1"), "prefs") is None  # nothing persisted yet


async def test_a_pending_delete_hides_a_persisted_item_everywhere(
    store: QueuedStore, keys: QueueKeys, drain: Drain
) -> None:
    await store.aput(("users", "u1"), "k", {"v": 1})
    await drain(keys)
    await store.adelete(("users", "u1"), "k")
    assert await store.aget(("users", "u1"), "k") is None
    assert await store.asearch(("users",)) == []
    assert await store.alist_namespaces(prefix=("users",)) == []
    assert await store.postgres.aget(("users", "u1"), "k") is not None


async def test_after_the_worker_commits_reads_are_unchanged_and_nothing_is_pending(
    store: QueuedStore, keys: QueueKeys, drain: Drain
) -> None:
    await store.aput(("users", "u1"), "k", {"v": 1})
    before = await store.aget(("users", "u1"), "k")
    await drain(keys)
    assert await store.aget(("users", "u1"), "k") == before
    assert await store.redis.redis.zcard(keys.pending_namespaces) == 0


def random_ops(
    rng: random.Random, count: int, *, once: bool = False
) -> list[tuple[str, tuple[str, ...], str, Any]]:
    """Puts and deletes over a few namespaces; with ``once`` each key is written once."""
    namespaces = [("users", "u1"), ("users", "u1", "facts"), ("users", "u2"), ("users", "u1-x")]
    idents = [(ns, f"k{i}") for ns in namespaces for i in range(12)]
    chosen = rng.sample(idents, count) if once else [rng.choice(idents) for _ in range(count)]
    ops = []
    for namespace, key in chosen:
        if rng.random() < 0.25:
            ops.append(("delete", namespace, key, None))
        else:
            ops.append(
                ("put", namespace, key, {"score": rng.randrange(200), "tag": rng.choice("ab")})
            )
    return ops


async def apply(store: QueuedStore, ops: list[tuple[str, tuple[str, ...], str, Any]]) -> None:
    for kind, namespace, key, value in ops:
        if kind == "put":
            await store.aput(namespace, key, value)
        else:
            await store.adelete(namespace, key)


READS: list[Op] = [
    *(GetOp(ns, f"k{i}") for ns in (("users", "u1"), ("users", "u2")) for i in range(12)),
    SearchOp(("users",), limit=100),
    SearchOp(("users", "u1"), limit=5, offset=3),
    SearchOp(("users",), filter={"score": {"$gt": 100}}, limit=7, offset=2),
    SearchOp(("users",), filter={"tag": "a"}, limit=4),
    SearchOp((), filter={"score": {"$lte": 50}, "tag": {"$ne": "b"}}, limit=50),
    ListNamespacesOp(limit=100),
    ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("users", "*")),), max_depth=2),
    ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("facts",)),)),
    ListNamespacesOp(limit=2, offset=1),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_reads_over_pending_writes_equal_the_reads_once_all_is_persisted(
    store: QueuedStore, keys: QueueKeys, drain: Drain, seed: int
) -> None:
    rng = random.Random(seed)
    await apply(store, random_ops(rng, 60))
    await drain(keys)
    # Pending: overwrites, deletes, new keys. Each key once: for a key written again
    # while an earlier write is still queued, created_at depends on how the
    # worker groups the writes (see the README's read-your-writes limits).
    await apply(store, random_ops(rng, 40, once=True))
    assert await store.redis.redis.zcard(keys.pending_namespaces) > 0
    merged = await store.abatch(READS)
    await drain(keys)
    assert await store.redis.redis.zcard(keys.pending_namespaces) == 0
    persisted = await store.postgres.abatch(READS)
    assert merged == persisted


async def test_a_batch_of_writes_leaves_in_one_job(store: QueuedStore, keys: QueueKeys) -> None:
    from langgraph.store.base import PutOp

    await store.abatch([PutOp(("ns",), f"k{i}", {"i": i}) for i in range(20)])
    assert await store.redis.redis.zcard(keys.queue) == 1


async def test_an_invalid_write_is_refused_and_nothing_is_queued(
    store: QueuedStore, keys: QueueKeys
) -> None:
    with pytest.raises(InvalidNamespaceError):
        await store.aput(("a.b",), "k", {})
    with pytest.raises(InvalidValueError):
        await store.aput(("a",), "k", {"x": "\u0000"})
    assert await store.redis.redis.zcard(keys.queue) == 0


async def test_sync_calls_work_from_another_thread_and_refuse_on_the_loop(
    store: QueuedStore,
) -> None:
    await asyncio.to_thread(store.put, ("ns",), "k", {"v": 1})
    item = await asyncio.to_thread(store.get, ("ns",), "k")
    assert item is not None
    assert item.value == {"v": 1}
    with pytest.raises(asyncio.InvalidStateError):
        store.get(("ns",), "k")


async def test_redis_down_is_a_clear_error_naming_redis(database_url: str) -> None:
    async with QueuedStore.from_url("redis://:hunter2@127.0.0.1:1/0", database_url) as store:
        with pytest.raises(ServiceUnavailableError) as caught:
            await store.aput(("ns",), "k", {"v": 1})
    assert caught.value.service == "Redis"
    assert "hunter2" not in str(caught.value)


async def test_writes_are_accepted_while_postgresql_is_away(
    redis_url: str, keys: QueueKeys
) -> None:
    away = "postgresql://postgres:hunter2@127.0.0.1:1/chatmem"
    async with QueuedStore.from_url(redis_url, away, queue_name=keys.queue, sweep=False) as store:
        await store.aput(("users", "u1"), "k", {"v": 1})
        await store.adelete(("users", "u1"), "gone")
        with pytest.raises(ServiceUnavailableError) as caught:
            await store.aget(("users", "u1"), "k")
        assert await store.redis.redis.zcard(keys.queue) == 2
    assert caught.value.service == "PostgreSQL"
    assert "hunter2" not in str(caught.value)
