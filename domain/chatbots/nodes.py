"""Nodes that say what they read and write, so one decision runs under invoke and ainvoke.

A node is a pure ``decide`` between two store batches: the reads it asks for
and the writes it returns. Under ``ainvoke`` the batches and the chat model
are awaited on the event loop (no worker thread per node); under ``invoke``
they are blocking calls, which loop-bound stores run on their own loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.config import get_store
from langgraph.store.base import Op, PutOp, Result

from domain.chatbots.phrasing import Draft, aphrase, phrase


@dataclass(frozen=True, slots=True)
class Decision:
    """What a node decided: a state update, store writes, and maybe a reply to word."""

    update: dict[str, Any] = field(default_factory=dict)
    writes: Sequence[PutOp] = ()
    # The reply, as drafted from the data; a configured chat model may reword it.
    draft: str | None = None
    facts: str = ""


Reads = Callable[[dict[str, Any], RunnableConfig], list[Op]]
Decide = Callable[[dict[str, Any], RunnableConfig, list[Result]], Decision]


def _no_reads(state: dict[str, Any], config: RunnableConfig) -> list[Op]:
    return []


def store_node(
    name: str,
    decide: Decide,
    *,
    reads: Reads = _no_reads,
    persona: str = "",
    chat_model: BaseChatModel | None = None,
) -> RunnableLambda[Any, dict[str, Any]]:
    """A graph node with a blocking and an async path around one ``decide``."""

    def _draft(decision: Decision, state: dict[str, Any]) -> Draft | None:
        if decision.draft is None:
            return None
        return Draft(decision.draft, decision.facts, persona, state["messages"])

    def run(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        ops = reads(state, config)
        results = get_store().batch(ops) if ops else []
        decision = decide(state, config, results)
        if decision.writes:
            get_store().batch(decision.writes)
        draft = _draft(decision, state)
        if draft is None:
            return decision.update
        return {**decision.update, "messages": [AIMessage(phrase(chat_model, draft))]}

    async def arun(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        ops = reads(state, config)
        results = await get_store().abatch(ops) if ops else []
        decision = decide(state, config, results)
        if decision.writes:
            await get_store().abatch(decision.writes)
        draft = _draft(decision, state)
        if draft is None:
            return decision.update
        return {**decision.update, "messages": [AIMessage(await aphrase(chat_model, draft))]}

    return RunnableLambda(run, afunc=arun, name=name)
