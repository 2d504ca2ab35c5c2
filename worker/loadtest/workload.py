"""Chat traffic for the load test: turn records and user facts, overwritten and deleted.

Each simulated session is one user chatting in one thread. A turn leaves a
turn record under ("users", u, "turns") with a key of its own (thread and
turn number, as the chatbot's turn records have), and often updates a fact
about the user under ("users", u, "facts"): a handful of keys written again
and again, and now and then deleted. So the loss check covers latest-value
semantics: the last write of a key must win, and a delete must stay deleted.

User labels start with the run's tag, so a run's rows are found (and removed)
by one namespace range and never mix with real users' memories.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from infra.stores.writes import namespace_text

ROOT = "users"
FACTS = ("name", "city", "language", "timezone", "tone", "topic", "diet", "pet")
# Shares of a session's writes: turn records, fact updates; the rest fact deletes.
TURN_SHARE = 0.5
FACT_SHARE = 0.4
_WORDS = (
    *("the", "user", "asked", "about", "their", "order", "and", "prefers", "short"),
    *("answers", "in", "English", "while", "travelling", "next", "week", "with"),
    *("a", "small", "dog", "and", "a", "late", "train"),
)


def new_run_tag() -> str:
    """A tag no other run uses: the first label part of every user of the run."""
    return "lt" + uuid.uuid4().hex[:10]


def user_label(tag: str, process: int, session: int) -> str:
    """The user (namespace label) of one session of one producer process."""
    return f"{tag}-p{process}-s{session}"


def namespace_prefix(tag: str, process: int | None = None) -> str:
    """The text every stored namespace of the run (or of one of its processes) starts with."""
    return f"{ROOT}.{tag}-" if process is None else f"{ROOT}.{tag}-p{process}-"


def prefix_range(prefix: str) -> tuple[str, str]:
    """[low, high) bounds of the texts starting with ``prefix`` (byte order, as "C" collates)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True, slots=True)
class ChatWrite:
    """One store write of a session; ``value`` None is a delete."""

    kind: Literal["put", "delete"]
    namespace: tuple[str, str, str]
    key: str
    value: dict[str, Any] | None
    #: a turn record: its key is never written again, so its commit can be watched.
    is_turn: bool

    @property
    def kind_name(self) -> str:
        """turn, fact or delete."""
        if self.is_turn:
            return "turn"
        return "fact" if self.value is not None else "delete"

    @property
    def ident(self) -> tuple[str, str]:
        """(namespace text, key): how the store and the loss check name the item."""
        return namespace_text(self.namespace), self.key


def filler(rng: random.Random, size: int) -> str:
    """About ``size`` characters of chat-like text."""
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


class ChatSession:
    """One user in one thread: the next write of its conversation, deterministic per seed."""

    def __init__(self, tag: str, process: int, index: int, *, seed: int, text_bytes: int) -> None:
        self.user = user_label(tag, process, index)
        self.thread = f"thread-{index}"
        self._rng = random.Random(f"{seed}:{process}:{index}")
        self._text_bytes = text_bytes
        self._turn = 0
        self._writes = 0
        self._facts: set[str] = set()

    def next_write(self) -> ChatWrite:
        """The session's next write: a turn record, a fact update or a fact delete."""
        self._writes += 1
        draw = self._rng.random()
        if draw < TURN_SHARE or self._turn == 0:
            return self._turn_record()
        if draw < TURN_SHARE + FACT_SHARE or not self._facts:
            return self._fact_update()
        return self._fact_delete()

    def _write_id(self) -> str:
        # Unique per write: a stored value shows which write it came from.
        return f"{self.user}/{self._writes}"

    def _turn_record(self) -> ChatWrite:
        self._turn += 1
        # About text_bytes as JSON: the other fields take some 130 bytes.
        text = max(self._text_bytes - 130, 4)
        value = {
            "thread_id": self.thread,
            "user_id": self.user,
            "turn": self._turn,
            "query": filler(self._rng, text // 4),
            "response": filler(self._rng, text - text // 4),
            "write": self._write_id(),
        }
        key = f"{self.thread}:{self._turn:06d}"
        return ChatWrite("put", (ROOT, self.user, "turns"), key, value, is_turn=True)

    def _fact_update(self) -> ChatWrite:
        fact = self._rng.choice(FACTS)
        self._facts.add(fact)
        value = {
            "fact": fact,
            "text": filler(self._rng, max(self._text_bytes // 8, 1)),
            "turn": self._turn,
            "write": self._write_id(),
        }
        return ChatWrite("put", (ROOT, self.user, "facts"), fact, value, is_turn=False)

    def _fact_delete(self) -> ChatWrite:
        fact = self._rng.choice(sorted(self._facts))
        self._facts.discard(fact)
        return ChatWrite("delete", (ROOT, self.user, "facts"), fact, None, is_turn=False)
