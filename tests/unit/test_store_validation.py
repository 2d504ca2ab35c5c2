from __future__ import annotations

import math
from typing import Any

import langgraph.store.base as lg
import pytest

from domain.errors import InvalidNamespaceError, InvalidValueError, InvalidWriteError
from infra.stores.validation import (
    encode_value,
    validate_key,
    validate_labels,
    validate_namespace,
    validate_ttl,
)


@pytest.mark.parametrize(
    "namespace",
    [
        (),
        ("",),
        ("a", ""),
        ("a.b",),
        ("a", 1),
        "users",
        ("langgraph", "x"),
        ("a\x00",),
        ("\ud800",),
    ],
)
def test_bad_namespaces_are_refused_as_langgraph_refuses_them(namespace: Any) -> None:
    with pytest.raises(InvalidNamespaceError) as caught:
        validate_namespace(namespace)
    assert isinstance(caught.value, lg.InvalidNamespaceError)


def test_good_namespaces_come_back_as_tuples() -> None:
    assert validate_namespace(["users", "ü", "facts"]) == ("users", "ü", "facts")
    assert validate_namespace(("a b", "'; DROP TABLE x; --")) == ("a b", "'; DROP TABLE x; --")


def test_reserved_root_is_allowed_for_reads() -> None:
    assert validate_namespace(("langgraph", "x"), for_write=False) == ("langgraph", "x")
    validate_labels(("langgraph",))


@pytest.mark.parametrize("key", ["", "a\x00b", 5, None, "k" * 1025, "lone \udc00"])
def test_bad_keys_are_refused(key: Any) -> None:
    with pytest.raises(InvalidWriteError):
        validate_key(key)


@pytest.mark.parametrize("ttl", [0, -1, math.nan, math.inf, "5", True, 1e12])
def test_bad_ttls_are_refused(ttl: Any) -> None:
    with pytest.raises(InvalidWriteError):
        validate_ttl(ttl)


def test_ttl_none_means_never() -> None:
    assert validate_ttl(None) is None
    assert validate_ttl(5) == 5.0


@pytest.mark.parametrize(
    "value",
    [
        ["not", "a", "dict"],
        {"when": object()},
        {1: "non-string key"},
        {"x": math.nan},
        {"deep": [{"x": -math.inf}]},
        {"text": "nul \x00 inside"},
        {"nested": {"text": "\x00"}},
    ],
)
def test_values_json_or_jsonb_cannot_carry_are_refused(value: Any) -> None:
    with pytest.raises(InvalidValueError):
        encode_value(value)


def test_value_size_limit_is_enforced_on_the_encoded_form() -> None:
    encode_value({"s": "x" * 100}, max_bytes=200)
    with pytest.raises(InvalidValueError, match="limit is 200 bytes"):
        encode_value({"s": "x" * 200}, max_bytes=200)


def test_literal_backslash_u0000_text_is_not_a_nul() -> None:
    assert encode_value({"s": "\\u0000"}) == b'{"s":"\\\\u0000"}'
