"""What reads through the queued store return, given pending writes and stored rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.store.base import MatchCondition

from domain.models import StoreWrite
from infra.stores.matching import compile_filter
from infra.stores.overlay import (
    literal_prefix,
    merge_get,
    merge_namespaces,
    merge_search,
    pending_namespaces,
)
from infra.stores.stored import StoredItem

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
NS = ("users", "u1")


def at(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def pending(key: str, version: int, value: dict[str, Any] | None, **kw: Any) -> StoreWrite:
    op = "delete" if value is None else "put"
    written = kw.pop("written_at", at(1))
    return StoreWrite(
        op, kw.pop("namespace", NS), key, value, kw.pop("ttl", None), version, written
    )


def stored(key: str, version: int, value: dict[str, Any] | None, **kw: Any) -> StoredItem:
    return StoredItem(
        namespace=kw.pop("namespace", NS),
        key=key,
        value=value,
        version=version,
        created_at=kw.pop("created_at", at(100)),
        updated_at=kw.pop("updated_at", at(50)),
        live=kw.pop("live", value is not None),
    )


def test_a_pending_put_is_read_with_the_stored_items_created_at() -> None:
    item = merge_get(pending("k", 5, {"v": 2}), stored("k", 3, {"v": 1}), NOW)
    assert item is not None
    assert item.value == {"v": 2}
    assert item.created_at == at(100)
    assert item.updated_at == at(1)


def test_a_pending_put_over_a_tombstone_starts_a_new_item() -> None:
    item = merge_get(pending("k", 5, {"v": 2}), stored("k", 3, None), NOW)
    assert item is not None
    assert item.created_at == item.updated_at == at(1)


def test_a_pending_delete_hides_the_stored_item() -> None:
    assert merge_get(pending("k", 5, None), stored("k", 3, {"v": 1}), NOW) is None


def test_a_stored_row_newer_than_the_pending_write_wins() -> None:
    item = merge_get(pending("k", 3, None), stored("k", 5, {"v": "newer"}), NOW)
    assert item is not None
    assert item.value == {"v": "newer"}


def test_an_expired_pending_put_reads_as_nothing() -> None:
    expired = pending("k", 5, {"v": 2}, ttl=1.0, written_at=at(120))
    assert merge_get(expired, stored("k", 3, {"v": 1}), NOW) is None


def test_without_pending_writes_a_get_reads_the_live_stored_item_only() -> None:
    assert merge_get(None, stored("k", 3, {"v": 1}), NOW) is not None
    assert merge_get(None, stored("k", 3, None), NOW) is None
    assert merge_get(None, stored("k", 3, {"v": 1}, live=False), NOW) is None
    assert merge_get(None, None, NOW) is None


def search(
    pend: list[StoreWrite],
    page: list[StoredItem],
    filter: Any = None,
    limit: int = 10,
    offset: int = 0,
) -> list[tuple[str, Any]]:
    rows = {
        w.identity: next((s for s in page if (s.namespace, s.key) == w.identity), None)
        for w in pend
    }
    found = merge_search(
        pend, page, rows, compile_filter(filter), limit=limit, offset=offset, now=NOW
    )
    return [(item.key, item.value) for item in found]


def test_search_merges_newest_first_and_hides_what_pending_deletes() -> None:
    page = [
        stored("a", 1, {"n": 1}, updated_at=at(10)),
        stored("b", 1, {"n": 2}, updated_at=at(20)),
    ]
    pend = [pending("c", 9, {"n": 3}, written_at=at(5)), pending("a", 9, None, written_at=at(5))]
    assert search(pend, page) == [("c", {"n": 3}), ("b", {"n": 2})]


def test_search_applies_the_filter_to_pending_values() -> None:
    page = [stored("a", 1, {"score": 100}, updated_at=at(10))]
    pend = [pending("b", 9, {"score": 7}), pending("c", 9, {"score": 70})]
    assert [k for k, _ in search(pend, page, {"score": {"$gt": 50}})] == ["c", "a"]


def test_a_pending_put_moves_a_stored_item_out_of_the_filter() -> None:
    page = [stored("a", 1, {"score": 100})]
    assert search([pending("a", 9, {"score": 1})], page, {"score": {"$gt": 50}}) == []


def test_search_pages_over_the_merged_order() -> None:
    page = [stored(f"s{i}", 1, {"i": i}, updated_at=at(10 + i)) for i in range(5)]
    pend = [pending(f"p{i}", 9, {"i": i}, written_at=at(12.5 + i)) for i in range(2)]
    order = [k for k, _ in search(pend, page, limit=100)]
    assert order == ["s0", "s1", "s2", "p0", "s3", "p1", "s4"]
    assert [k for k, _ in search(pend, page, limit=3, offset=2)] == ["s2", "p0", "s3"]


def test_ties_in_updated_at_order_by_namespace_text_then_key() -> None:
    same = at(3)
    page = [stored("b", 1, {}, updated_at=same, namespace=("a", "b"))]
    pend = [pending("a", 9, {}, written_at=same, namespace=("a-b",))]
    # "a-b" < "a.b" byte-wise, though ("a", "b") < ("a-b",) as tuples.
    assert [k for k, _ in search(pend, page)] == ["a", "b"]


def test_namespaces_appear_with_pending_puts_and_vanish_when_emptied() -> None:
    conditions = (MatchCondition("prefix", ("users",)),)
    pend = [
        pending("k", 9, {"v": 1}, namespace=("users", "new", "facts")),
        pending("x", 9, None, namespace=("users", "old")),
    ]
    shown, hidden = pending_namespaces(pend, conditions, 2, NOW)
    assert shown == {("users", "new")}
    assert hidden == {("users", "old"): {"x"}}
    listed = merge_namespaces(
        [("users", "old"), ("users", "zed")], shown, {("users", "old")}, limit=10, offset=0
    )
    assert listed == [("users", "new"), ("users", "zed")]


def test_the_literal_prefix_stops_at_the_first_wildcard() -> None:
    assert literal_prefix((MatchCondition("prefix", ("a", "*", "c")),)) == ("a",)
    assert literal_prefix((MatchCondition("suffix", ("c",)),)) == ()
