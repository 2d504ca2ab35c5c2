"""What a search filter and a namespace condition select, checked once and evaluable anywhere.

A filter compiles to a flat conjunction of ``Condition``s on JSON paths.
postgres_sql renders them as SQL; ``matches`` evaluates them in Python with
the same result, so a store that merges pending writes with stored rows
filters both alike.

Semantics (langgraph's InMemoryStore where it is right):

- ``{"k": v}`` (v not a dict or list) and ``{"k": {"$eq": v}}``: JSON
  equality; a missing field equals null; a bool never equals a number.
- ``{"k": {"$ne": v}}``: not equal, so a missing field matches unless v is null.
- ``$gt $gte $lt $lte``: a number against numbers (compared as numbers), a
  string against strings (by code point); any other field never matches.
- ``{"k": {"a": ...}}`` (no ``$`` keys): k is an object whose fields match;
  other fields of k are allowed. ``{"k": [...]}``: k is an array of that
  length whose elements match in order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from langgraph.store.base import MatchCondition

from domain.errors import InvalidQueryError
from domain.models import Namespace

Kind = Literal["eq", "ne", "gt", "gte", "lt", "lte", "object", "array"]
COMPARISONS: dict[str, Kind] = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
OPERATORS: dict[str, Kind] = {"$eq": "eq", "$ne": "ne", **COMPARISONS}
WILDCARD = "*"
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on the value at ``path`` (object keys, or array indices as digits).

    ``operand``: the JSON value for eq/ne, a number or string for the
    comparisons, the length for array, None for object.
    """

    path: tuple[str, ...]
    kind: Kind
    operand: Any = None


def compile_filter(filter: Any) -> tuple[Condition, ...]:
    """The conditions of a search filter, or InvalidQueryError naming what is wrong."""
    if filter is None:
        return ()
    if not isinstance(filter, Mapping):
        raise InvalidQueryError(f"a filter is a dict; got {type(filter).__name__}")
    conditions: list[Condition] = []
    for field, wanted in filter.items():
        _compile(_field(field, ()), wanted, conditions)
    return tuple(conditions)


def _field(name: Any, path: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(name, str):
        raise InvalidQueryError(f"filter field names are strings; got {name!r}")
    return (*path, name)


def _compile(path: tuple[str, ...], wanted: Any, out: list[Condition]) -> None:
    if isinstance(wanted, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            for operator, operand in wanted.items():
                out.append(_operator(path, operator, operand))
            return
        out.append(Condition(path, "object"))
        for field, sub in wanted.items():
            _compile(_field(field, path), sub, out)
    elif isinstance(wanted, list | tuple):
        out.append(Condition(path, "array", len(wanted)))
        for index, element in enumerate(wanted):
            _compile((*path, str(index)), element, out)
    else:
        out.append(Condition(path, "eq", _json_operand(path, wanted)))


def _operator(path: tuple[str, ...], operator: Any, operand: Any) -> Condition:
    kind = OPERATORS.get(operator) if isinstance(operator, str) else None
    if kind is None:
        known = ", ".join(OPERATORS)
        raise InvalidQueryError(f"unknown filter operator {operator!r} at {_dotted(path)}; {known}")
    if kind in ("eq", "ne"):
        return Condition(path, kind, _json_operand(path, operand))
    if isinstance(operand, str) or (_is_number(operand) and math.isfinite(operand)):
        return Condition(path, kind, operand)
    raise InvalidQueryError(
        f"{operator} at {_dotted(path)} compares with a finite number or a string; got {operand!r}"
    )


def _json_operand(path: tuple[str, ...], operand: Any) -> Any:
    # orjson would write NaN as null and so change what the filter asks for.
    if _has_non_finite(operand):
        raise InvalidQueryError(f"the filter value at {_dotted(path)} is not a finite number")
    try:
        encoded = orjson.dumps(operand)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidQueryError(f"the filter value at {_dotted(path)} is not JSON: {exc}") from None
    # The round trip turns tuples into lists, as the value stored in jsonb has them.
    return orjson.loads(encoded)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) or "(top)"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def matches(value: Mapping[str, Any], conditions: Sequence[Condition]) -> bool:
    """Whether a stored value passes every condition (as the SQL of postgres_sql decides)."""
    return all(_holds(_at(value, c.path), c) for c in conditions)


def matches_filter(value: Mapping[str, Any], filter: Any) -> bool:
    """``matches`` for a filter as langgraph's SearchOp carries it."""
    return matches(value, compile_filter(filter))


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if isinstance(value, Mapping):
            value = value.get(step, _MISSING)
        elif isinstance(value, list | tuple) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _holds(found: Any, c: Condition) -> bool:
    if c.kind == "eq":
        return json_equal(None if found is _MISSING else found, c.operand)
    if c.kind == "ne":
        return not json_equal(None if found is _MISSING else found, c.operand)
    if c.kind == "object":
        return isinstance(found, Mapping)
    if c.kind == "array":
        return isinstance(found, list | tuple) and len(found) == c.operand
    # Comparisons hold only between two numbers or two strings (a missing field is neither).
    if not (isinstance(found, str) if isinstance(c.operand, str) else _is_number(found)):
        return False
    if c.kind == "gt":
        return bool(found > c.operand)
    if c.kind == "gte":
        return bool(found >= c.operand)
    if c.kind == "lt":
        return bool(found < c.operand)
    return bool(found <= c.operand)


def json_equal(a: Any, b: Any) -> bool:
    """Equality as jsonb has it: numbers by value, a bool is not a number, deep for containers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and a == b
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and a.keys() == b.keys()
            and all(json_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return (
            isinstance(a, list | tuple)
            and isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)


def in_prefix(namespace: Namespace, prefix: Namespace) -> bool:
    """Whether a search with ``prefix`` covers ``namespace`` (whole labels, no wildcards)."""
    return namespace[: len(prefix)] == tuple(prefix)


def condition_holds(namespace: Namespace, condition: MatchCondition) -> bool:
    """Whether ``namespace`` meets a list_namespaces prefix or suffix condition ('*': any label)."""
    path = tuple(condition.path)
    if not path:
        return True
    if len(namespace) < len(path):
        return False
    labels = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p in (WILDCARD, n) for p, n in zip(path, labels, strict=True))


def truncate(namespace: Namespace, max_depth: int | None) -> Namespace:
    """The namespace as list_namespaces reports it under ``max_depth``."""
    return namespace if max_depth is None else namespace[:max_depth]
