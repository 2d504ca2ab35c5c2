"""The load test's chat traffic: turn records, overwritten facts, deletes, one run's namespaces."""

from __future__ import annotations

from collections import Counter

import orjson

from infra.stores.validation import validate_key, validate_namespace
from worker.loadtest.workload import (
    ChatSession,
    namespace_prefix,
    new_run_tag,
    prefix_range,
)


def _writes(session: ChatSession, n: int) -> list:  # type: ignore[type-arg]
    return [session.next_write() for _ in range(n)]


def test_a_session_is_the_same_conversation_for_the_same_seed() -> None:
    first = _writes(ChatSession("lt1", 0, 3, seed=5, text_bytes=200), 50)
    again = _writes(ChatSession("lt1", 0, 3, seed=5, text_bytes=200), 50)
    other = _writes(ChatSession("lt1", 0, 3, seed=6, text_bytes=200), 50)
    assert first == again
    assert first != other


def test_sessions_write_turn_records_once_and_overwrite_and_delete_facts() -> None:
    writes = _writes(ChatSession("lt1", 0, 0, seed=1, text_bytes=100), 2000)
    kinds = Counter(w.kind_name for w in writes)
    assert kinds["turn"] > 800
    assert kinds["fact"] > 600
    assert kinds["delete"] > 50
    turn_keys = [w.ident for w in writes if w.is_turn]
    assert len(turn_keys) == len(set(turn_keys))
    fact_keys = Counter(w.ident for w in writes if w.kind_name == "fact")
    assert max(fact_keys.values()) > 10
    live: set[tuple[str, str]] = set()
    for write in writes:
        if write.kind_name == "delete":
            assert write.ident in live, "only a fact that is there gets deleted"
            live.discard(write.ident)
        elif write.kind_name == "fact":
            live.add(write.ident)


def test_every_write_passes_the_store_rules_and_carries_its_own_id() -> None:
    writes = _writes(ChatSession(new_run_tag(), 2, 7, seed=0, text_bytes=512), 300)
    ids = [w.value["write"] for w in writes if w.value is not None]
    assert len(ids) == len(set(ids))
    for write in writes:
        validate_namespace(write.namespace)
        validate_key(write.key)
        assert write.namespace[0] == "users"
    turn = next(w for w in writes if w.is_turn)
    assert 450 <= len(orjson.dumps(turn.value)) <= 560


def test_the_prefix_range_holds_the_run_and_nothing_else() -> None:
    tag = "lt0123456789"
    low, high = prefix_range(namespace_prefix(tag))
    session = ChatSession(tag, 3, 12, seed=0, text_bytes=10)
    inside = session.next_write().ident[0]
    assert low <= inside < high
    for outside in ("users.lt0123456788-p0-s0.turns", "users.lt01234567890.turns", "users.u1"):
        assert not low <= outside < high
    process_low, process_high = prefix_range(namespace_prefix(tag, 3))
    assert process_low <= inside < process_high
    assert (
        not process_low
        <= ChatSession(tag, 4, 0, seed=0, text_bytes=10).next_write().ident[0]
        < process_high
    )
