"""What the checkpointer tests share: a chat graph, savers on their own prefix, key inspection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from infra.checkpointers import RedisCheckpointSaver


def reply(state: MessagesState) -> dict[str, list[AIMessage]]:
    """The graph's one node: answer with the number of messages seen."""
    return {"messages": [AIMessage(f"seen {len(state['messages'])}")]}


def chat_graph(checkpointer: Any) -> Any:
    """StateGraph over MessagesState whose one node appends a message."""
    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=checkpointer)


def turn_config(thread_id: str, run_id: str | None = None) -> dict[str, Any]:
    """The config of one turn; a run id goes into checkpoint metadata, as on LangGraph Platform."""
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    if run_id is not None:
        config["metadata"] = {"run_id": run_id}
    return config


async def chat_turn(graph: Any, thread_id: str, text: str, run_id: str | None = None) -> Any:
    """One ainvoke of the chat graph on ``thread_id``."""
    return await graph.ainvoke({"messages": [HumanMessage(text)]}, turn_config(thread_id, run_id))


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"cp-test:{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def open_saver(redis_url: str, **options: Any) -> AsyncIterator[RedisCheckpointSaver]:
    """A saver on ``redis_url`` under a fresh key prefix (unless one is given)."""
    options.setdefault("key_prefix", unique_prefix())
    async with RedisCheckpointSaver.from_url(redis_url, **options) as saver:
        yield saver


async def keys_under(redis: aioredis.Redis, prefix: str) -> set[str]:
    """Every key whose name starts with ``prefix``."""
    return {key.decode() async for key in redis.scan_iter(match=f"{prefix}*", count=1000)}


async def ttls(redis: aioredis.Redis, keys: set[str]) -> dict[str, int]:
    """The PTTL of each key (-1: no TTL, -2: gone)."""
    return {key: await redis.pttl(key) for key in sorted(keys)}
