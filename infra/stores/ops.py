"""A batch of langgraph store ops, checked and sorted by kind before any SQL runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, Op, PutOp, SearchOp

from domain.errors import InvalidNamespaceError, InvalidQueryError, InvalidWriteError
from domain.models import Namespace
from infra.stores.matching import Condition, compile_filter
from infra.stores.validation import (
    encode_value,
    validate_key,
    validate_labels,
    validate_namespace,
    validate_ttl,
)
from infra.stores.writes import DirectWrite


@dataclass(frozen=True, slots=True)
class Search:
    """A checked SearchOp: its prefix, compiled filter and page."""

    prefix: Namespace
    conditions: tuple[Condition, ...]
    limit: int
    offset: int
    refresh: bool


@dataclass(frozen=True, slots=True)
class Listing:
    """A checked ListNamespacesOp."""

    conditions: tuple[MatchCondition, ...]
    max_depth: int | None
    limit: int
    offset: int


@dataclass(slots=True)
class Batch:
    """The ops of one abatch call by kind, each with its position in the results.

    ``gets`` holds only keys that can exist; the others read as None without SQL.
    ``writes`` keeps one write per (namespace, key), the last one of the batch.
    """

    size: int
    gets: list[tuple[int, GetOp]] = field(default_factory=list)
    searches: list[tuple[int, Search]] = field(default_factory=list)
    listings: list[tuple[int, Listing]] = field(default_factory=list)
    writes: list[DirectWrite] = field(default_factory=list)


def prepare(ops: Iterable[Op], *, max_value_bytes: int) -> Batch:
    """Check every op; the first bad one raises, so nothing of the batch runs."""
    ops = list(ops)
    batch = Batch(size=len(ops))
    writes: dict[tuple[Namespace, str], DirectWrite] = {}
    for index, op in enumerate(ops):
        if isinstance(op, GetOp):
            if readable(op.namespace, op.key):
                batch.gets.append((index, op))
        elif isinstance(op, SearchOp):
            batch.searches.append((index, check_search(op)))
        elif isinstance(op, ListNamespacesOp):
            batch.listings.append((index, check_listing(op)))
        elif isinstance(op, PutOp):
            write = check_write(op, max_value_bytes=max_value_bytes)
            writes[(write.namespace, write.key)] = write
        else:
            raise InvalidQueryError(f"unknown store operation {type(op).__name__}")
    batch.writes = list(writes.values())
    return batch


def readable(namespace: Any, key: Any) -> bool:
    """Whether (namespace, key) is well-formed for a read and could be stored at all."""
    validate_labels(_labels(namespace))
    if not isinstance(key, str):
        raise InvalidQueryError(f"a key is a string; got {type(key).__name__}")
    try:
        validate_key(key)
    except InvalidWriteError:
        return False  # no write could have stored it
    return bool(namespace)


def check_write(op: PutOp, *, max_value_bytes: int) -> DirectWrite:
    """A PutOp as a DirectWrite, or the error that says why it is refused."""
    namespace = validate_namespace(op.namespace, for_write=op.value is not None)
    key = validate_key(op.key)
    if op.value is None:
        return DirectWrite(namespace, key, None, None)
    value = encode_value(op.value, max_bytes=max_value_bytes)
    return DirectWrite(namespace, key, value, validate_ttl(op.ttl))


def check_search(op: SearchOp) -> Search:
    """A SearchOp with its filter compiled and its page checked."""
    prefix = _labels(op.namespace_prefix)
    validate_labels(prefix)
    return Search(
        prefix,
        compile_filter(op.filter),
        _count("limit", op.limit),
        _count("offset", op.offset),
        bool(op.refresh_ttl),
    )


def check_listing(op: ListNamespacesOp) -> Listing:
    """A ListNamespacesOp with its conditions, depth and page checked."""
    conditions: list[MatchCondition] = []
    for condition in op.match_conditions or ():
        if not isinstance(condition, MatchCondition) or condition.match_type not in (
            "prefix",
            "suffix",
        ):
            raise InvalidQueryError(
                f"a namespace condition matches a 'prefix' or a 'suffix'; got {condition!r}"
            )
        path = _labels(condition.path)
        validate_labels(path)
        conditions.append(MatchCondition(condition.match_type, path))
    depth = op.max_depth
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise InvalidQueryError(f"max_depth is a positive integer or None; got {depth!r}")
    return Listing(tuple(conditions), depth, _count("limit", op.limit), _count("offset", op.offset))


def _labels(namespace: Any) -> Namespace:
    if isinstance(namespace, list):
        namespace = tuple(namespace)
    if not isinstance(namespace, tuple):
        raise InvalidNamespaceError(
            f"a namespace is a tuple of strings; got {type(namespace).__name__}"
        )
    return namespace


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidQueryError(f"{name} is a non-negative integer; got {value!r}")
    return value
