from __future__ import annotations

import math
from typing import Any

import pytest
from langgraph.store.base import GetOp, MatchCondition, PutOp

from domain.errors import InvalidQueryError, InvalidValueError
from infra.stores.matching import (
    Condition,
    compile_filter,
    condition_holds,
    in_prefix,
    json_equal,
    matches_filter,
    truncate,
)
from infra.stores.ops import prepare

VALUE = {
    "score": 7,
    "name": "ann",
    "items": [{"a": 1, "b": 2}, {"a": 3}],
    "meta": {"deep": {"level": 4}, "0": "zero"},
    "empty": None,
}


def test_a_filter_flattens_into_conditions_on_paths() -> None:
    assert compile_filter({"meta": {"deep": {"level": {"$gt": 1}}}, "items": [1]}) == (
        Condition(("meta",), "object"),
        Condition(("meta", "deep"), "object"),
        Condition(("meta", "deep", "level"), "gt", 1),
        Condition(("items",), "array", 1),
        Condition(("items", "0"), "eq", 1),
    )


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"score": 7.0}, True),
        ({"score": True}, False),
        ({"meta": {"deep": {"level": {"$gte": 4, "$lt": 5}}}}, True),
        ({"meta": {"0": "zero"}}, True),
        ({"items": [{"a": 1}, {"a": 3}]}, True),
        ({"items": [{"a": 1}]}, False),
        ({"items": {"$eq": [{"a": 1}, {"a": 3}]}}, False),
        ({"empty": None, "absent": None}, True),
        ({"absent": {"$ne": None}}, False),
        ({"name": {"$gte": "ann", "$lt": "anna"}}, True),
        ({"name": {"$gt": 1}}, False),
        ({"score": {"$lt": "z"}}, False),
        ({"meta": {"deep": 4}}, False),
        ({"score": {"inner": 1}}, False),
    ],
)
def test_python_matching(filter: dict[str, Any], expected: bool) -> None:
    assert matches_filter(VALUE, filter) is expected


@pytest.mark.parametrize(
    "filter",
    [
        "score > 5",
        {"score": {"$regex": "x"}},
        {"score": {"$gt": 1, "plain": 2}},
        {"score": {"$gt": None}},
        {"score": {"$gt": [1]}},
        {"score": {"$lt": math.inf}},
        {"score": math.nan},
        {"score": {"$eq": object()}},
        {5: "non-string field"},
    ],
)
def test_malformed_filters_are_refused(filter: Any) -> None:
    with pytest.raises(InvalidQueryError):
        compile_filter(filter)


def test_json_equality_is_numeric_for_numbers_and_strict_for_bools() -> None:
    assert json_equal(1, 1.0)
    assert json_equal({"a": [1, {"b": 2.0}]}, {"a": (1, {"b": 2})})
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert not json_equal({"a": 1}, {"a": 1, "b": None})
    assert not json_equal("1", 1)


def test_namespace_conditions_as_list_namespaces_applies_them() -> None:
    ns = ("users", "u1", "facts")
    assert condition_holds(ns, MatchCondition("prefix", ("users", "*")))
    assert condition_holds(ns, MatchCondition("suffix", ("*", "facts")))
    assert condition_holds(ns, MatchCondition("prefix", ()))
    assert not condition_holds(ns, MatchCondition("prefix", ("user",)))
    assert not condition_holds(ns, MatchCondition("suffix", ("a", "users", "u1", "facts")))
    assert in_prefix(ns, ("users", "u1"))
    assert not in_prefix(ns, ("user",))
    assert truncate(ns, 2) == ("users", "u1")
    assert truncate(ns, None) == ns


def test_a_batch_keeps_the_last_write_per_key_and_reads_in_place() -> None:
    batch = prepare(
        [
            PutOp(("a",), "k", {"v": 1}),
            GetOp(("a",), "k"),
            PutOp(("a",), "k", None),
            PutOp(("a",), "j", {"v": 2}, ttl=3),
            GetOp(("a",), ""),
        ],
        max_value_bytes=100,
    )
    assert batch.size == 5
    assert [index for index, _ in batch.gets] == [1]
    assert [(w.key, w.value, w.ttl_minutes) for w in batch.writes] == [
        ("k", None, None),
        ("j", b'{"v":2}', 3.0),
    ]


def test_a_batch_is_refused_whole_when_one_write_is_bad() -> None:
    with pytest.raises(InvalidValueError):
        prepare(
            [PutOp(("a",), "k", {"v": 1}), PutOp(("a",), "j", {"x": math.nan})], max_value_bytes=100
        )
