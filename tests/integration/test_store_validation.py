"""Bad input on both stores: clear errors, and nothing of a refused batch is applied."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import langgraph.store.base as lg
import pytest
from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, PutOp, SearchOp

from domain.errors import InvalidQueryError, InvalidValueError, InvalidWriteError
from tests.integration.store_support import STORE_KINDS, is_reference, open_store


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[BaseStore]:
    async with open_store(request.param, database_url, max_value_bytes=1000) as opened:
        yield opened


@pytest.mark.parametrize("namespace", [(), ("",), ("a.b",), ("langgraph", "x"), ("a", 1)])
async def test_bad_namespaces_are_refused_on_put(store: BaseStore, namespace: Any) -> None:
    with pytest.raises(lg.InvalidNamespaceError):
        await store.aput(namespace, "k", {"v": 1})


@pytest.mark.parametrize("prefix", [("a.b",), ("",), ("a", None)])
async def test_bad_prefixes_are_refused_on_read(store: BaseStore, prefix: Any) -> None:
    with pytest.raises(lg.InvalidNamespaceError):
        await store.asearch(prefix)
    with pytest.raises(lg.InvalidNamespaceError):
        await store.alist_namespaces(prefix=prefix)


async def test_a_dotted_label_is_refused_even_in_a_raw_batch(store: BaseStore) -> None:
    # abatch skips BaseStore's checks; "a.b" would then address the namespace ("a", "b").
    op = PutOp(("a.b",), "k", {"v": 1})
    if is_reference(store):
        await store.abatch([op])  # InMemoryStore's defect: it stores it.
        return
    with pytest.raises(lg.InvalidNamespaceError):
        await store.abatch([op])
    assert await store.aget(("a", "b"), "k") is None


@pytest.mark.parametrize(
    "value",
    [{"when": object()}, {"x": math.nan}, {1: "non-string key"}, {"s": "nul \x00"}],
)
async def test_values_json_cannot_carry_are_refused(store: BaseStore, value: Any) -> None:
    if is_reference(store):
        await store.aput(("v",), "k", value)  # InMemoryStore's defect: it keeps anything.
        return
    with pytest.raises(InvalidValueError):
        await store.aput(("v",), "k", value)


async def test_a_value_that_is_not_a_dict_is_refused(store: BaseStore) -> None:
    with pytest.raises(ValueError, match="dict"):
        await store.aput(("v",), "k", ["a"])  # type: ignore[arg-type]
    assert await store.aget(("v",), "k") is None


async def test_a_value_over_the_size_limit_is_refused(store: BaseStore) -> None:
    await store.aput(("v",), "small", {"s": "x" * 900})
    if is_reference(store):
        await store.aput(("v",), "big", {"s": "x" * 2000})  # InMemoryStore has no limit.
        return
    with pytest.raises(InvalidValueError, match="limit is 1000 bytes"):
        await store.aput(("v",), "big", {"s": "x" * 2000})


@pytest.mark.parametrize("key", ["", "k" * 1025])
async def test_bad_keys_are_refused(store: BaseStore, key: str) -> None:
    if is_reference(store):
        await store.aput(("v",), key, {"v": 1})  # InMemoryStore's defect: it keeps them.
        return
    with pytest.raises(InvalidWriteError):
        await store.aput(("v",), key, {"v": 1})


async def test_one_bad_op_refuses_the_whole_batch(store: BaseStore) -> None:
    with pytest.raises(ValueError, match="operation"):
        await store.abatch([PutOp(("v",), "good", {"v": 1}), "not an op"])  # type: ignore[list-item]
    assert await store.aget(("v",), "good") is None


@pytest.mark.parametrize(
    "op",
    [
        SearchOp(("v",), limit=-1),
        SearchOp(("v",), offset=-5),
        SearchOp(("v",), filter="score > 5"),  # type: ignore[arg-type]
        ListNamespacesOp(limit=-1),
        ListNamespacesOp(max_depth=0),
        GetOp(("v",), 5),  # type: ignore[arg-type]
    ],
)
async def test_malformed_reads_are_refused_by_postgres(database_url: str, op: Any) -> None:
    # InMemoryStore takes these and answers something arbitrary, or fails deep inside.
    async with open_store("postgres", database_url) as store:
        with pytest.raises(InvalidQueryError):
            await store.abatch([op])


async def test_ttl_is_refused_by_the_reference_and_kept_by_postgres(store: BaseStore) -> None:
    if is_reference(store):
        with pytest.raises(NotImplementedError):
            await store.aput(("v",), "k", {"v": 1}, ttl=5)
        return
    await store.aput(("v",), "k", {"v": 1}, ttl=5)
    assert await store.aget(("v",), "k") is not None
