"""The last step of a reply: the rule-based draft as is, or reworded by a chat model.

The facts and figures always come from the data; a configured chat model only
words them (and may follow the conversation). Without one, or when it fails,
the draft is the reply, so the assistants run offline and deterministically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage

log = logging.getLogger(__name__)

# Recent messages the model sees besides the facts: enough for follow-ups.
HISTORY_MESSAGES = 8


def phrase(
    chat_model: BaseChatModel | None,
    *,
    persona: str,
    facts: str,
    draft: str,
    messages: Sequence[BaseMessage],
) -> str:
    """The reply to the last message: ``draft``, or the chat model's wording of it."""
    if chat_model is None:
        return draft
    system = SystemMessage(
        f"{persona}\nAnswer the user's last message in a few sentences, using only the facts "
        f"and the draft answer below; never invent products, prices or figures.\n\n"
        f"Facts:\n{facts}\n\nDraft answer:\n{draft}"
    )
    try:
        reply = chat_model.invoke([system, *messages[-HISTORY_MESSAGES:]])
    except Exception as exc:
        # The draft is a correct answer; a model outage must not fail the turn.
        log.warning("chat_model_failed: %s", type(exc).__name__)
        return draft
    text = str(reply.text).strip()
    return text or draft
