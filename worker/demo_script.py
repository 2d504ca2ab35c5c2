"""What the demo says: several customers, several threads, and a thread that remembers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Assistant = Literal["shopping", "bi"]


@dataclass(frozen=True, slots=True)
class Say:
    """A user says something in a thread, to one of the assistants."""

    user: str
    thread: str
    text: str
    assistant: Assistant = "shopping"


@dataclass(frozen=True, slots=True)
class Clear:
    """A user clears a conversation: the thread's short-term memory goes."""

    user: str
    thread: str


Step = Say | Clear

SCRIPT: tuple[Step, ...] = (
    Say("alice", "alice-monday", "Hi! My name is Alice. My budget is 900 euros and I prefer Acme."),
    Say("alice", "alice-monday", "I need a new laptop."),
    Say("bob", "bob-1", "Hello, I'm looking for headphones under 200."),
    Say("alice", "alice-monday", "Anything cheaper?"),
    Say("bob", "bob-1", "My budget is 1500 and Zephyr is my favourite brand."),
    Say("bob", "bob-1", "And a phone?"),
    Say("carol", "carol-sales", "What was our revenue by region in Q1?", "bi"),
    Say("carol", "carol-sales", "Top product in March?", "bi"),
    Say("carol", "carol-sales", "And in the South?", "bi"),
    Say("alice", "alice-friday", "Hello again!"),
    Say("alice", "alice-friday", "Can you recommend a tablet?"),
    Say("alice", "alice-friday", "Please forget my budget."),
    Clear("bob", "bob-1"),
    Say("bob", "bob-2", "What do you know about me?"),
)


def threads(script: tuple[Step, ...] = SCRIPT) -> list[tuple[str, str, Assistant]]:
    """Each thread of the script once, in order of appearance: (thread, user, assistant)."""
    seen: dict[str, tuple[str, str, Assistant]] = {}
    for step in script:
        if isinstance(step, Say) and step.thread not in seen:
            seen[step.thread] = (step.thread, step.user, step.assistant)
    return list(seen.values())
