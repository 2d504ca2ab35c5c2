"""Workflows, stores and chat models the chatbot unit tests share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.base import NOT_PROVIDED, NotProvided, Op, Result
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.memory import InMemoryStore
from pydantic import Field

from domain.conversation import last_query
from domain.errors import ServiceUnavailableError
from domain.models import Namespace
from domain.repositories.stores import BaseStoreRepository, MemoryStoreRepository


def echo_workflow() -> StateGraph[MessagesState, None, MessagesState, MessagesState]:
    """Answers "message <n>: <query>", n counting the user messages the thread holds."""

    def reply(state: MessagesState) -> dict[str, Any]:
        count = sum(isinstance(m, HumanMessage) for m in state["messages"])
        return {"messages": [AIMessage(f"message {count}: {last_query(state['messages'])}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder


class FlakyStoreRepository(MemoryStoreRepository):
    """An in-memory store repository whose first ``failures`` puts fail as if Redis were down."""

    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    async def aput(
        self,
        namespace: Namespace,
        key: str,
        value: dict[str, Any],
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ServiceUnavailableError("Redis", "redis://test", "connection refused")
        await super().aput(namespace, key, value, ttl)


class CountingStore(InMemoryStore):
    """An InMemoryStore that counts its blocking and its async batch calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = {"batch": 0, "abatch": 0}

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        self.calls["batch"] += 1
        return super().batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        self.calls["abatch"] += 1
        return super().batch(ops)


class LoopBoundStore(AsyncBatchedBaseStore):
    """langgraph's loop-bound store base over an InMemoryStore: sync calls hop onto its loop."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = InMemoryStore()

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await self.inner.abatch(ops)


class LoopBoundStoreRepository(BaseStoreRepository):
    """A store repository bound to the running event loop, as the queued store is."""

    def __init__(self) -> None:
        self._store = LoopBoundStore()

    @property
    def store(self) -> LoopBoundStore:
        return self._store


class RecordingChatModel(BaseChatModel):
    """Answers a fixed text (or fails) and keeps the prompts it was given."""

    answer: str = "worded by the model"
    fail: bool = False
    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(
        self,
        messages: Sequence[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        if self.fail:
            raise RuntimeError("model unavailable")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.answer))])
