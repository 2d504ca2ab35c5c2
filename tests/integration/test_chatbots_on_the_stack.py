"""The chatbot repositories on Redis checkpoints and the PostgreSQL or queued store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from domain.chatbots import ClientChatbotRepository, CustomerChatbotRepository
from domain.chatbots.customer import facts_namespace
from infra.loop_thread import LoopThread
from infra.stores.keys import QueueKeys
from tests.chatbot_support import StoreKind, open_memory, stored_rows, thread_keys
from tests.integration.conftest import Drain

KINDS: list[StoreKind] = ["postgres", "queued"]
USER = "ana.lopez@example.com"
CONVERSATIONS = "users.ana%2Elopez@example%2Ecom.conversations"

Persist = Callable[[], Awaitable[None]]


@pytest.fixture
def persist(keys: QueueKeys, drain: Drain) -> Persist:
    """Lets a worker persist what the test queued (nothing to do for the PostgreSQL store)."""

    async def run() -> None:
        await drain(keys)

    return run


@pytest.mark.parametrize("kind", KINDS)
async def test_every_method_of_a_chatbot_on_the_real_stack(
    kind: StoreKind, redis_url: str, database_url: str, keys: QueueKeys, persist: Persist
) -> None:
    async with open_memory(redis_url, database_url, kind, keys.queue) as (checkpoints, stores):
        bot = CustomerChatbotRepository(checkpoints, stores)
        first = await bot.ainvoke("my budget is 800", "t1", USER)
        second = await asyncio.to_thread(bot.invoke, "a phone please", "t1", USER)
        history = await bot.aget_history("t1")
        assert [m["content"] for m in history[::2]] == ["my budget is 800", "a phone please"]
        assert await asyncio.to_thread(bot.get_history, "t1") == history
        assert await bot.arecord_turn("t1", USER) == await asyncio.to_thread(
            bot.record_turn, "t1", USER
        )
        if kind == "queued":
            # The turns did not wait for PostgreSQL: their records are still queued.
            assert await stored_rows(database_url, CONVERSATIONS) == []
        await persist()
        rows = await stored_rows(database_url, CONVERSATIONS)
        assert [r["key"] for r in rows] == [first["turn_key"], second["turn_key"]]
        assert rows[1]["value"]["response"] == second["response"]

        assert await thread_keys(redis_url, checkpoints, "t1")
        await bot.aclear_conversation("t1")
        assert await thread_keys(redis_url, checkpoints, "t1") == set()
        assert await bot.aget_history("t1") == []
        await bot.ainvoke("hello", "t2", USER)
        await asyncio.to_thread(bot.clear_conversation, "t2")
        assert await thread_keys(redis_url, checkpoints, "t2") == set()
        await persist()
        # Long-term memory outlives the threads.
        assert len(await stored_rows(database_url, CONVERSATIONS)) == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_a_new_thread_recalls_a_fact_told_in_another(
    kind: StoreKind, redis_url: str, database_url: str, keys: QueueKeys, persist: Persist
) -> None:
    async with open_memory(redis_url, database_url, kind, keys.queue) as (checkpoints, stores):
        bot = CustomerChatbotRepository(checkpoints, stores)
        await bot.ainvoke("My budget is 500 and I prefer Orbit", "monday", "bo")
        await bot.aclear_conversation("monday")
        # Recalled before any worker ran, when queued: read-your-writes.
        answer = (await bot.ainvoke("recommend a phone", "friday", "bo"))["response"]
        assert "within your €500 budget" in answer
        await persist()
        facts = await stored_rows(database_url, ".".join(facts_namespace("bo")))
        assert {r["key"]: r["value"]["value"] for r in facts} == {
            "budget": 500,
            "preferred_brand": "Orbit",
        }


@pytest.mark.parametrize("kind", KINDS)
async def test_a_forgotten_fact_stays_forgotten_once_persisted(
    kind: StoreKind, redis_url: str, database_url: str, keys: QueueKeys, persist: Persist
) -> None:
    async with open_memory(redis_url, database_url, kind, keys.queue) as (checkpoints, stores):
        bot = CustomerChatbotRepository(checkpoints, stores)
        await bot.ainvoke("my budget is 400", "t1", "cy")
        await bot.ainvoke("forget my budget", "t1", "cy")
        await persist()
        assert await stored_rows(database_url, ".".join(facts_namespace("cy"))) == []
        answer = (await bot.ainvoke("what do you know about me?", "t2", "cy"))["response"]
        assert answer.startswith("I don't know anything about you yet")


async def test_the_bi_assistant_follows_up_from_its_redis_checkpoint(
    redis_url: str, database_url: str
) -> None:
    async with open_memory(redis_url, database_url) as (checkpoints, stores):
        bot = ClientChatbotRepository(checkpoints, stores)
        await bot.ainvoke("top product in March", "bi", "analyst")
        answer = (await bot.ainvoke("and in the South?", "bi", "analyst"))["response"]
        assert answer.startswith("Top product by revenue (South, March 2024)")


@pytest.mark.parametrize("kind", KINDS)
def test_a_blocking_program_drives_the_stack_on_a_loop_thread(
    kind: StoreKind, redis_url: str, database_url: str, keys: QueueKeys
) -> None:
    with LoopThread() as loop_thread:
        opened = open_memory(redis_url, database_url, kind, keys.queue)
        checkpoints, stores = loop_thread.run(opened.__aenter__())
        try:
            bot = CustomerChatbotRepository(checkpoints, stores)
            bot.invoke("call me Kai, my budget is 300", "t1", "kai")
            answer = bot.invoke("headphones?", "t2", "kai")["response"]
            assert "within your €300 budget" in answer
            assert bot.get_history("t2")[0] == {"role": "user", "content": "headphones?"}
        finally:
            loop_thread.run(opened.__aexit__(None, None, None))
