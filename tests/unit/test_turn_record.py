"""The long-term record of a turn and the namespaces users' memories live in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.models import (
    TurnRecord,
    conversations_namespace,
    user_id_of_label,
    user_label,
    user_namespace,
)


def record(**changes: object) -> TurnRecord:
    fields: dict[str, object] = {
        "thread_id": "t-1",
        "user_id": "ana@example.com",
        "checkpoint_id": "1f0-abc",
        "query": "hi",
        "response": "hello",
        "created_at": datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        "assistant": "shopping_assistant",
    }
    fields.update(changes)
    return TurnRecord(**fields)  # type: ignore[arg-type]


def test_a_record_survives_the_round_trip_through_its_stored_value() -> None:
    for original in (record(), record(user_id=None)):
        assert TurnRecord.from_value(original.to_value()) == original


def test_the_key_is_the_thread_then_the_turns_checkpoint() -> None:
    assert record().key == "t-1:1f0-abc"
    assert record(query="other", response="words").key == record().key
    assert record(checkpoint_id="1f0-abd").key != record().key


def test_the_namespace_is_the_users_conversations() -> None:
    assert record().namespace == ("users", "ana@example%2Ecom", "conversations")
    assert record(user_id=None).namespace == ("anonymous", "conversations")
    assert conversations_namespace("bob") == ("users", "bob", "conversations")


@pytest.mark.parametrize("user_id", ["plain", "a.b.c", "100%", "%2E.", "ünï.cødé", "."])
def test_user_labels_hold_no_dot_and_give_the_id_back(user_id: str) -> None:
    label = user_label(user_id)
    assert "." not in label
    assert user_id_of_label(label) == user_id


def test_distinct_users_get_distinct_labels() -> None:
    assert user_label("a.b") != user_label("a%2Eb")
    assert user_namespace("x", "facts") == ("users", "x", "facts")
