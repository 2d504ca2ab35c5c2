"""The last step of a reply: the rule-based draft as is, or reworded by a chat model.

The facts and figures always come from the data; a configured chat model only
words them (and may follow the conversation). Without one, or when it fails,
the draft is the reply, so the assistants run offline and deterministically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage

log = logging.getLogger(__name__)

# Recent messages the model sees besides the facts: enough for follow-ups.
HISTORY_MESSAGES = 8


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply drafted from the data, with what a chat model needs to reword it."""

    text: str
    facts: str
    persona: str
    messages: Sequence[BaseMessage]

    def prompt(self) -> list[BaseMessage]:
        """What the chat model is asked: word the draft, invent nothing."""
        system = SystemMessage(
            f"{self.persona}\nAnswer the user's last message in a few sentences, using only "
            f"the facts and the draft answer below; never invent products, prices or figures."
            f"\n\nFacts:\n{self.facts or '(none)'}\n\nDraft answer:\n{self.text}"
        )
        return [system, *self.messages[-HISTORY_MESSAGES:]]

    def worded(self, reply: BaseMessage) -> str:
        """The model's reply, or the draft when the model said nothing."""
        return str(reply.text).strip() or self.text

    def fallback(self, exc: Exception) -> str:
        """The draft, after a model failure (logged without its message, which may hold keys)."""
        log.warning("chat_model_failed: %s", type(exc).__name__)
        return self.text


def phrase(chat_model: BaseChatModel | None, draft: Draft) -> str:
    """The reply: the draft, or the chat model's wording of it."""
    if chat_model is None:
        return draft.text
    try:
        return draft.worded(chat_model.invoke(draft.prompt()))
    except Exception as exc:
        # The draft is a correct answer; a model outage must not fail the turn.
        return draft.fallback(exc)


async def aphrase(chat_model: BaseChatModel | None, draft: Draft) -> str:
    """Async twin of phrase."""
    if chat_model is None:
        return draft.text
    try:
        return draft.worded(await chat_model.ainvoke(draft.prompt()))
    except Exception as exc:
        return draft.fallback(exc)
