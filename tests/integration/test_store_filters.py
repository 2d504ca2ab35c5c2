"""Search filters on both stores, and PostgreSQL agreeing with the Python matcher on every case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph.store.base import BaseStore

from infra.stores.matching import matches_filter
from infra.stores.postgres import PostgresStore
from tests.integration.store_support import STORE_KINDS, is_reference, open_store

ITEMS: dict[str, dict[str, Any]] = {
    "low": {"score": 5, "name": "ann", "tags": ["a", "b"], "meta": {"lang": "en", "level": 1}},
    "mid": {"score": 50, "name": "bob", "tags": ["b"], "meta": {"lang": "fr", "level": 2}},
    "high": {"score": 100, "name": "cy", "tags": ["a", "b"], "meta": {"lang": "en", "level": 3}},
    "float": {"score": 99.5, "name": "Dee", "tags": [], "meta": {"lang": "de", "level": 2}},
}
for _key, _flag in (("low", True), ("mid", False), ("high", True), ("float", False)):
    ITEMS[_key]["flag"] = _flag
ITEMS["high"]["extra"] = None
ALL = set(ITEMS)

# Cases on which InMemoryStore is right: both stores must give these keys.
AGREED: list[tuple[dict[str, Any], set[str]]] = [
    ({"score": 50}, {"mid"}),
    ({"score": {"$eq": 50}}, {"mid"}),
    ({"score": {"$ne": 50}}, {"low", "high", "float"}),
    # As text, "100" < "50": langgraph's Postgres store misses "high" here.
    ({"score": {"$gt": 50}}, {"high", "float"}),
    ({"score": {"$gte": 50}}, {"mid", "high", "float"}),
    ({"score": {"$lt": 50}}, {"low"}),
    ({"score": {"$lte": 50}}, {"low", "mid"}),
    ({"score": {"$gt": 9}}, {"mid", "high", "float"}),
    ({"score": {"$gt": 5, "$lt": 100}}, {"mid", "float"}),
    ({"score": {"$gte": 99.5, "$lte": 99.5}}, {"float"}),
    ({"name": "bob"}, {"mid"}),
    ({"name": {"$ne": "bob"}}, {"low", "high", "float"}),
    ({"name": "bob", "score": 50}, {"mid"}),
    ({"name": "bob", "score": 5}, set()),
    ({"meta": {"lang": "en"}}, {"low", "high"}),
    ({"meta": {"lang": "en", "level": 3}}, {"high"}),
    ({"meta": {"level": {"$gte": 2}}}, {"mid", "high", "float"}),
    ({"meta": {"$eq": {"lang": "fr", "level": 2}}}, {"mid"}),
    ({"meta": {"$eq": {"lang": "fr"}}}, set()),
    ({"tags": ["a", "b"]}, {"low", "high"}),
    ({"tags": []}, {"float"}),
    ({"tags": {"$eq": ["b"]}}, {"mid"}),
    ({"tags": ["b", "a"]}, set()),
    ({"flag": True}, {"low", "high"}),
    ({"flag": False, "score": {"$gt": 60}}, {"float"}),
    ({"extra": None}, ALL),
    ({"extra": {"$ne": None}}, set()),
    ({"missing": {"$ne": 1}}, ALL),
    ({"missing": "x"}, set()),
    ({}, ALL),
]

# Cases on which InMemoryStore is wrong: what chatmem gives, and what InMemoryStore does.
DISAGREED: list[tuple[dict[str, Any], set[str], type[Exception] | set[str]]] = [
    # A comparison on a field some items lack: InMemoryStore calls float(None).
    ({"missing": {"$gt": 1}}, set(), TypeError),
    # Strings compare as strings: InMemoryStore calls float("ann").
    ({"name": {"$gt": "b"}}, {"mid", "high"}, ValueError),
    # A bool is not a number: InMemoryStore has True == 1.
    ({"flag": 1}, set(), {"low", "high"}),
]


# Shapes only a careful translation gets right: arrays of objects, digit keys, type mismatches.
EDGE_ITEMS: dict[str, dict[str, Any]] = {
    "objects": {"items": [{"a": 1, "b": 2}, {"a": 3}], "meta": {"0": "zero", "n": 1.0}},
    "scalars": {"items": [1, 2], "meta": {"0": 0, "n": True}},
    "strings": {"items": "12", "meta": "flat", "s": "Zebra"},
    "nested": {"items": [[1], [2, 3]], "meta": {"n": {"n": 1}}, "s": "apple"},
}
EDGE_FILTERS: list[dict[str, Any]] = [
    {"items": [{"a": 1}, {"a": 3}]},
    {"items": [{"a": {"$gt": 0}}, {}]},
    {"items": [1, 2]},
    {"items": [[1], [2, 3]]},
    {"items": [[1], [2]]},
    {"items": []},
    {"items": {"$eq": "12"}},
    {"items": {"$gt": "1"}},
    {"items": {"$ne": [1, 2]}},
    {"meta": {"0": "zero"}},
    {"meta": {"0": 0}},
    {"meta": {"n": 1}},
    {"meta": {"n": True}},
    {"meta": {"n": {"$gte": 1}}},
    {"meta": {"n": {"n": 1}}},
    {"meta": {}},
    {"meta": "flat"},
    {"s": {"$lt": "apple"}},
    {"s": {"$gte": "Zebra", "$lte": "apple"}},
    {"s": None},
    {"items": {"0": 1}},
]


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[BaseStore]:
    async with open_store(request.param, database_url) as opened:
        for key, value in ITEMS.items():
            await opened.aput(("items",), key, value)
        await opened.aput(("elsewhere",), "low", ITEMS["low"])
        yield opened


async def found(store: BaseStore, filter: dict[str, Any]) -> set[str]:
    return {i.key for i in await store.asearch(("items",), filter=filter, limit=100)}


async def test_filters_select_what_the_reference_selects(store: BaseStore) -> None:
    for filter, expected in AGREED:
        assert await found(store, filter) == expected, filter


async def test_filters_where_the_reference_is_wrong(store: BaseStore) -> None:
    for filter, right, reference in DISAGREED:
        if not is_reference(store):
            assert await found(store, filter) == right, filter
        elif isinstance(reference, set):
            assert await found(store, filter) == reference, filter
        else:
            with pytest.raises(reference):
                await found(store, filter)


async def test_unknown_operators_are_refused(store: BaseStore) -> None:
    with pytest.raises(ValueError, match="operator"):
        await store.asearch(("items",), filter={"score": {"$regex": "x"}})


async def test_postgres_and_the_python_matcher_agree_on_every_case(database_url: str) -> None:
    async with open_store("postgres", database_url) as store:
        assert isinstance(store, PostgresStore)
        for key, value in ITEMS.items():
            await store.aput(("items",), key, value)
        for filter, *_ in [*AGREED, *DISAGREED]:
            by_python = {k for k, v in ITEMS.items() if matches_filter(v, filter)}
            assert await found(store, filter) == by_python, filter
        for key, value in EDGE_ITEMS.items():
            await store.aput(("edge",), key, value)
        for filter in EDGE_FILTERS:
            by_python = {k for k, v in EDGE_ITEMS.items() if matches_filter(v, filter)}
            hits = await store.asearch(("edge",), filter=filter, limit=100)
            assert {i.key for i in hits} == by_python, filter
