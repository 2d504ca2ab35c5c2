"""Chatbot repositories: a LangGraph workflow compiled with short- and long-term memory.

Sync and async. The async methods are the main path. The sync ones drive the
graph's sync API, which calls the savers' sync methods; a saver or store bound
to an event loop (the Redis checkpointer, the queued store, like langgraph's
own AsyncPostgresSaver) runs those on its loop. Hence one rule: call the sync
methods from a thread that runs no event loop (a sync web framework's request
thread, a script, ``asyncio.to_thread``); on a loop's thread they raise
EventLoopThreadError before anything runs, and the async twin is the one to await.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.graph import StateGraph
from langgraph.types import Durability

from domain.conversation import history, messages_of, turn_record
from domain.errors import EventLoopThreadError, InvalidRequestError
from domain.models import TurnRecord
from domain.repositories.checkpointers import BaseCheckpointerRepository, thread_config
from domain.repositories.stores import BaseStoreRepository

MAX_ID_CHARS = 256
MAX_QUERY_CHARS = 32_000


class BaseChatbotRepository:
    """A chatbot with memory: one workflow compiled with a checkpointer and a store.

    The workflow's state needs a ``messages`` channel (MessagesState or a
    subclass): each turn appends the query there as a user message and takes
    the assistant messages after it as the response. Nodes find the user in
    ``config["configurable"]["user_id"]`` and the store with ``get_store()``.
    """

    assistant: ClassVar[str] = "chatbot"
    # A turn's checkpoint is in Redis before the next step runs.
    durability: ClassVar[Durability] = "sync"

    def __init__(
        self,
        workflow: StateGraph[Any, Any, Any, Any],
        checkpointer_repository: BaseCheckpointerRepository,
        store_repository: BaseStoreRepository,
    ) -> None:
        if "messages" not in workflow.channels:
            raise ValueError("the workflow's state needs a 'messages' channel (e.g. MessagesState)")
        self.checkpointer_repository = checkpointer_repository
        self.store_repository = store_repository
        self.graph = workflow.compile(
            checkpointer=checkpointer_repository.checkpointer, store=store_repository.store
        )

    async def ainvoke(
        self, query: str, thread_id: str, user_id: str | None = None
    ) -> dict[str, Any]:
        """Run one turn and record it; the response with the turn's record and its key."""
        config = _turn_config(query, thread_id, user_id)
        last: RunnableConfig | None = None
        async for event in self.graph.astream(
            _turn_input(query), config, stream_mode="checkpoints", durability=self.durability
        ):
            last = event["config"]
        record = await self.arecord_turn(thread_id, user_id, checkpoint_id=_checkpoint_id(last))
        return _reply(record)

    def invoke(self, query: str, thread_id: str, user_id: str | None = None) -> dict[str, Any]:
        """Blocking twin of ainvoke (see the module's rule on threads)."""
        refuse_on_event_loop("invoke")
        config = _turn_config(query, thread_id, user_id)
        last: RunnableConfig | None = None
        for event in self.graph.stream(
            _turn_input(query), config, stream_mode="checkpoints", durability=self.durability
        ):
            last = event["config"]
        record = self.record_turn(thread_id, user_id, checkpoint_id=_checkpoint_id(last))
        return _reply(record)

    async def arecord_turn(
        self, thread_id: str, user_id: str | None = None, *, checkpoint_id: str | None = None
    ) -> TurnRecord:
        """Put the long-term record of a turn (the thread's latest by default).

        ainvoke calls it after every turn. Should that put fail, calling it
        again records the same turn under the same key: never a duplicate.
        """
        saver = self.checkpointer_repository.checkpointer
        checkpoint = await saver.aget_tuple(_at_checkpoint(thread_id, checkpoint_id))
        record = self._record(checkpoint, thread_id, user_id)
        await self.store_repository.aput(record.namespace, record.key, record.to_value())
        return record

    def record_turn(
        self, thread_id: str, user_id: str | None = None, *, checkpoint_id: str | None = None
    ) -> TurnRecord:
        """Blocking twin of arecord_turn."""
        refuse_on_event_loop("record_turn")
        saver = self.checkpointer_repository.checkpointer
        checkpoint = saver.get_tuple(_at_checkpoint(thread_id, checkpoint_id))
        record = self._record(checkpoint, thread_id, user_id)
        self.store_repository.put(record.namespace, record.key, record.to_value())
        return record

    async def aget_history(self, thread_id: str) -> list[dict[str, str]]:
        """The thread's conversation from short-term memory: [{"role", "content"}, ...]."""
        return history(messages_of(await self.checkpointer_repository.aget_checkpoint(thread_id)))

    def get_history(self, thread_id: str) -> list[dict[str, str]]:
        """Blocking twin of aget_history."""
        refuse_on_event_loop("get_history")
        return history(messages_of(self.checkpointer_repository.get_checkpoint(thread_id)))

    async def aclear_conversation(self, thread_id: str) -> None:
        """Forget the thread: its checkpoints go; the long-term records stay."""
        await self.checkpointer_repository.adelete_checkpoint(thread_id)

    def clear_conversation(self, thread_id: str) -> None:
        """Blocking twin of aclear_conversation."""
        refuse_on_event_loop("clear_conversation")
        self.checkpointer_repository.delete_checkpoint(thread_id)

    def _record(
        self, checkpoint: CheckpointTuple | None, thread_id: str, user_id: str | None
    ) -> TurnRecord:
        if checkpoint is None:
            raise InvalidRequestError(f"thread {thread_id!r} has no such checkpoint to record")
        return turn_record(
            checkpoint, thread_id=thread_id, user_id=user_id, assistant=self.assistant
        )


def refuse_on_event_loop(method: str) -> None:
    """Raise EventLoopThreadError when this thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise EventLoopThreadError(
        f"{method}() blocks and this thread runs an event loop; await a{method}() instead"
    )


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{name} must be a non-empty string; got {value!r}")
    if len(value) > MAX_ID_CHARS or "\x00" in value:
        raise InvalidRequestError(f"{name} must be at most {MAX_ID_CHARS} characters, without NUL")


def _turn_config(query: object, thread_id: object, user_id: object) -> RunnableConfig:
    _check_id("thread_id", thread_id)
    if user_id is not None:
        _check_id("user_id", user_id)
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError(f"query must be a non-empty string; got {query!r}")
    if len(query) > MAX_QUERY_CHARS or "\x00" in query:
        raise InvalidRequestError(f"query must be at most {MAX_QUERY_CHARS} characters, no NUL")
    return {"configurable": {"thread_id": thread_id, "user_id": user_id}}


def _turn_input(query: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(query)]}


def _checkpoint_id(config: RunnableConfig | None) -> str | None:
    if config is None:
        return None
    checkpoint_id: str | None = config.get("configurable", {}).get("checkpoint_id")
    return checkpoint_id


def _at_checkpoint(thread_id: str, checkpoint_id: str | None) -> RunnableConfig:
    config = thread_config(thread_id)
    if checkpoint_id is not None:
        config["configurable"]["checkpoint_id"] = checkpoint_id
    return config


def _reply(record: TurnRecord) -> dict[str, Any]:
    return {**record.to_value(), "turn_key": record.key}
