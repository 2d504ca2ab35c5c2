"""BaseChatbotRepository over in-memory checkpoints and store: every method, and its rules."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from domain.errors import EventLoopThreadError, InvalidRequestError, ServiceUnavailableError
from domain.models import TurnRecord, user_id_of_label
from domain.repositories.chatbots import BaseChatbotRepository
from domain.repositories.checkpointers import MemoryCheckpointerRepository
from domain.repositories.stores import BaseStoreRepository, MemoryStoreRepository
from tests.unit.chatbot_fakes import FlakyStoreRepository, LoopBoundStoreRepository, echo_workflow


def make_bot(store: BaseStoreRepository | None = None) -> BaseChatbotRepository:
    return BaseChatbotRepository(
        echo_workflow(), MemoryCheckpointerRepository(), store or MemoryStoreRepository()
    )


def records(bot: BaseChatbotRepository, namespace: tuple[str, ...]) -> list[TurnRecord]:
    items = bot.store_repository.store.search(namespace, limit=100)
    return sorted((TurnRecord.from_value(i.value) for i in items), key=lambda r: r.key)


async def test_ainvoke_answers_and_records_the_turn_under_the_users_conversations() -> None:
    bot = make_bot()
    reply = await bot.ainvoke("hello", "thread-1", "u1")
    assert reply["response"] == "message 1: hello"
    checkpoint = await bot.checkpointer_repository.aget_checkpoint("thread-1")
    assert checkpoint is not None
    assert reply["checkpoint_id"] == checkpoint.checkpoint["id"]
    assert reply["turn_key"] == f"thread-1:{checkpoint.checkpoint['id']}"
    item = await bot.store_repository.aget(("users", "u1", "conversations"), reply["turn_key"])
    assert item is not None
    record = TurnRecord.from_value(item.value)
    assert (record.query, record.response, record.thread_id, record.user_id) == (
        "hello",
        "message 1: hello",
        "thread-1",
        "u1",
    )
    assert record.created_at == datetime.fromisoformat(checkpoint.checkpoint["ts"])
    assert record.assistant == BaseChatbotRepository.assistant


def test_invoke_is_the_blocking_twin_of_ainvoke() -> None:
    bot = make_bot()
    first = bot.invoke("one", "t", "u1")
    second = bot.invoke("two", "t", "u1")
    assert second["response"] == "message 2: two"
    assert [r.key for r in records(bot, ("users", "u1"))] == sorted(
        [first["turn_key"], second["turn_key"]]
    )


async def test_each_turn_gets_its_own_record_in_turn_order() -> None:
    bot = make_bot()
    for query in ("a", "b", "c"):
        await bot.ainvoke(query, "t", "u1")
    # Checkpoint ids grow with time, so a thread's keys sort in turn order.
    assert [r.query for r in records(bot, ("users", "u1", "conversations"))] == ["a", "b", "c"]


async def test_history_lists_the_threads_messages_in_order() -> None:
    bot = make_bot()
    await bot.ainvoke("hi", "t", "u1")
    await bot.ainvoke("again", "t", "u1")
    expected = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "message 1: hi"},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": "message 2: again"},
    ]
    assert await bot.aget_history("t") == expected
    assert await asyncio.to_thread(bot.get_history, "t") == expected


async def test_history_of_an_unknown_thread_is_empty() -> None:
    bot = make_bot()
    assert await bot.aget_history("nobody") == []
    assert await asyncio.to_thread(bot.get_history, "nobody") == []


@pytest.mark.parametrize("blocking", [False, True])
async def test_clear_conversation_forgets_the_thread_and_keeps_its_records(blocking: bool) -> None:
    bot = make_bot()
    await bot.ainvoke("first", "t", "u1")
    await bot.ainvoke("kept", "other", "u1")
    if blocking:
        await asyncio.to_thread(bot.clear_conversation, "t")
    else:
        await bot.aclear_conversation("t")
    assert await bot.checkpointer_repository.aget_checkpoint("t") is None
    assert await bot.aget_history("t") == []
    # The next turn starts from nothing: the thread's short-term memory is gone.
    assert (await bot.ainvoke("fresh", "t", "u1"))["response"] == "message 1: fresh"
    assert len(await bot.aget_history("other")) == 2
    assert [r.query for r in records(bot, ("users", "u1"))].count("first") == 1


async def test_recording_a_turn_again_adds_no_duplicate() -> None:
    bot = make_bot()
    reply = await bot.ainvoke("once", "t", "u1")
    before = records(bot, ("users", "u1"))
    again = await bot.arecord_turn("t", "u1")
    blocking = await asyncio.to_thread(bot.record_turn, "t", "u1")
    assert again.key == blocking.key == reply["turn_key"]
    assert records(bot, ("users", "u1")) == before


async def test_a_turn_whose_record_failed_is_recorded_once_when_retried() -> None:
    bot = make_bot(FlakyStoreRepository(failures=1))
    with pytest.raises(ServiceUnavailableError):
        await bot.ainvoke("lost?", "t", "u1")
    assert await bot.aget_history("t") != []
    assert records(bot, ("users", "u1")) == []
    await bot.arecord_turn("t", "u1")
    await bot.arecord_turn("t", "u1")
    assert [r.query for r in records(bot, ("users", "u1"))] == ["lost?"]


async def test_a_record_names_the_checkpoint_of_its_own_turn() -> None:
    bot = make_bot()
    first = await bot.ainvoke("first", "t", "u1")
    await bot.ainvoke("second", "t", "u1")
    again = await bot.arecord_turn("t", "u1", checkpoint_id=first["checkpoint_id"])
    assert (again.key, again.query) == (first["turn_key"], "first")
    assert len(records(bot, ("users", "u1"))) == 2


async def test_recording_a_thread_without_checkpoints_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="no such checkpoint"):
        await make_bot().arecord_turn("empty", "u1")


async def test_concurrent_turns_each_record_their_own_turn() -> None:
    bot = make_bot()
    queries = [f"q{i}" for i in range(8)]
    replies = await asyncio.gather(
        *(bot.ainvoke(q, f"t{i % 2}", "u1") for i, q in enumerate(queries))
    )
    assert sorted(r["query"] for r in replies) == queries
    assert sorted(r.query for r in records(bot, ("users", "u1"))) == queries


async def test_a_turn_without_a_user_is_recorded_as_anonymous() -> None:
    bot = make_bot()
    reply = await bot.ainvoke("who am I", "t")
    assert reply["user_id"] is None
    assert [r.key for r in records(bot, ("anonymous", "conversations"))] == [reply["turn_key"]]


async def test_a_user_id_with_dots_gets_an_escaped_reversible_label() -> None:
    bot = make_bot()
    await bot.ainvoke("hi", "t", "ana.lopez@example.com")
    [item] = bot.store_repository.store.search(("users",), limit=10)
    label = item.namespace[1]
    assert "." not in label
    assert user_id_of_label(label) == "ana.lopez@example.com"
    assert item.value["user_id"] == "ana.lopez@example.com"


@pytest.mark.parametrize(
    ("query", "thread_id", "user_id"),
    [
        ("", "t", "u"),
        ("   ", "t", "u"),
        (None, "t", "u"),
        ("nul \x00 inside", "t", "u"),
        ("x" * 40_000, "t", "u"),
        ("hi", "", "u"),
        ("hi", 42, "u"),
        ("hi", "t" * 300, "u"),
        ("hi", "t", ""),
        ("hi", "t", "with\x00nul"),
    ],
)
async def test_a_bad_request_is_refused_before_anything_runs(
    query: Any, thread_id: Any, user_id: Any
) -> None:
    bot = make_bot()
    with pytest.raises(InvalidRequestError):
        await bot.ainvoke(query, thread_id, user_id)
    with pytest.raises(InvalidRequestError):
        await asyncio.to_thread(bot.invoke, query, thread_id, user_id)
    assert list(bot.checkpointer_repository.checkpointer.list(None)) == []
    assert bot.store_repository.store.search(("users",)) == []


def test_a_workflow_without_messages_is_refused() -> None:
    class State(TypedDict):
        count: int

    builder = StateGraph(State)
    builder.add_node("n", lambda state: {"count": state["count"] + 1})
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    with pytest.raises(ValueError, match="messages"):
        BaseChatbotRepository(builder, MemoryCheckpointerRepository(), MemoryStoreRepository())


async def test_blocking_methods_refuse_to_run_on_an_event_loop_thread() -> None:
    bot = make_bot()
    await bot.ainvoke("hi", "t", "u1")
    with pytest.raises(EventLoopThreadError, match="await ainvoke"):
        bot.invoke("blocked", "t", "u1")
    with pytest.raises(asyncio.InvalidStateError):
        bot.get_history("t")
    with pytest.raises(EventLoopThreadError):
        bot.record_turn("t", "u1")
    with pytest.raises(EventLoopThreadError):
        bot.clear_conversation("t")
    assert len(await bot.aget_history("t")) == 2


async def test_blocking_methods_work_from_another_thread_with_a_loop_bound_store() -> None:
    bot = make_bot(LoopBoundStoreRepository())
    reply = await asyncio.to_thread(bot.invoke, "from a thread", "t", "u1")
    assert reply["response"] == "message 1: from a thread"
    item = await bot.store_repository.aget(("users", "u1", "conversations"), reply["turn_key"])
    assert item is not None
    assert item.value["query"] == "from a thread"
