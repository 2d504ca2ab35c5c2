"""Value objects shared by every layer: a store write, a chat turn's long-term record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

WriteKind = Literal["put", "delete"]
Namespace = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """One put or delete of a (namespace, key), ordered against others by ``version``.

    ``version`` grows in the order in which the writes were accepted, so the
    highest version of a key is its latest write, however late a retry of an
    older one arrives. ``value`` is None for a delete. ``ttl_minutes`` None
    means the item never expires.
    """

    op: WriteKind
    namespace: Namespace
    key: str
    value: Mapping[str, Any] | None
    ttl_minutes: float | None
    version: int
    written_at: datetime

    @property
    def is_delete(self) -> bool:
        """True for a delete (stored as a tombstone so a late put cannot undo it)."""
        return self.op == "delete"

    @property
    def identity(self) -> tuple[Namespace, str]:
        """The (namespace, key) this write addresses."""
        return (self.namespace, self.key)


# Labels may not contain '.', which user ids often do (e-mail addresses): escape it.
def user_label(user_id: str) -> str:
    """A user id as one namespace label ('%' and '.' percent-escaped, reversibly)."""
    return user_id.replace("%", "%25").replace(".", "%2E")


def user_id_of_label(label: str) -> str:
    """The user id a label made by user_label stands for."""
    return unquote(label)


def user_namespace(user_id: str | None, *rest: str) -> Namespace:
    """("users", <user label>, *rest); turns without a user go under ("anonymous", *rest)."""
    if user_id is None:
        return ("anonymous", *rest)
    return ("users", user_label(user_id), *rest)


def conversations_namespace(user_id: str | None) -> Namespace:
    """Where a user's turn records live."""
    return user_namespace(user_id, "conversations")


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One chat turn as kept in long-term memory: what was asked and answered, where, when.

    It is made from the checkpoint that ends the turn, so recording the same
    turn again gives the same key and the same value: a retry adds nothing.
    """

    thread_id: str
    user_id: str | None
    checkpoint_id: str
    query: str
    response: str
    created_at: datetime
    assistant: str

    @property
    def namespace(self) -> Namespace:
        """("users", <user>, "conversations"), or ("anonymous", "conversations")."""
        return conversations_namespace(self.user_id)

    @property
    def key(self) -> str:
        """The thread, then the turn's checkpoint id (time-ordered within a thread)."""
        return f"{self.thread_id}:{self.checkpoint_id}"

    def to_value(self) -> dict[str, Any]:
        """The record as a JSON object, as stored."""
        return {
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "checkpoint_id": self.checkpoint_id,
            "query": self.query,
            "response": self.response,
            "created_at": self.created_at.isoformat(),
            "assistant": self.assistant,
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> TurnRecord:
        """The record a stored value holds (the inverse of to_value)."""
        return cls(
            thread_id=str(value["thread_id"]),
            user_id=None if value.get("user_id") is None else str(value["user_id"]),
            checkpoint_id=str(value["checkpoint_id"]),
            query=str(value["query"]),
            response=str(value["response"]),
            created_at=datetime.fromisoformat(value["created_at"]),
            assistant=str(value.get("assistant", "")),
        )
