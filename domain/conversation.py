"""What a thread's messages say: the last question, its answer, the history as plain dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.base import CheckpointTuple

from domain.models import TurnRecord

ROLES = {"human": "user", "ai": "assistant"}


def messages_of(checkpoint: CheckpointTuple | None) -> list[AnyMessage]:
    """The messages a checkpoint holds (none for a thread without one)."""
    if checkpoint is None:
        return []
    messages: list[AnyMessage] = checkpoint.checkpoint["channel_values"].get("messages", [])
    return messages


def history(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """User and assistant messages as {"role", "content"}; tool and system messages left out."""
    shown: list[dict[str, str]] = []
    for message in messages:
        role = ROLES.get(message.type)
        text = message.text
        if role is not None and text:
            shown.append({"role": role, "content": str(text)})
    return shown


def last_query(messages: Sequence[BaseMessage]) -> str:
    """The text of the latest user message, empty when there is none."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.text)
    return ""


def last_response(messages: Sequence[BaseMessage]) -> str:
    """The assistant's text after the latest user message (several messages joined)."""
    answer: list[str] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and message.text:
            answer.append(str(message.text))
    return "\n".join(reversed(answer))


def turn_record(
    checkpoint: CheckpointTuple, *, thread_id: str, user_id: str | None, assistant: str
) -> TurnRecord:
    """The long-term record of the turn that ``checkpoint`` ends."""
    messages = messages_of(checkpoint)
    return TurnRecord(
        thread_id=thread_id,
        user_id=user_id,
        checkpoint_id=checkpoint.checkpoint["id"],
        query=last_query(messages),
        response=last_response(messages),
        created_at=datetime.fromisoformat(checkpoint.checkpoint["ts"]),
        assistant=assistant,
    )
