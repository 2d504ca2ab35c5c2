"""The shopping assistant: facts remembered across threads, suggestions from the catalogue."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

import pytest

from domain.chatbots import CustomerChatbotRepository
from domain.chatbots.customer import facts_namespace
from domain.repositories.checkpointers import MemoryCheckpointerRepository
from domain.repositories.stores import BaseStoreRepository, MemoryStoreRepository
from tests.unit.chatbot_fakes import CountingStore, LoopBoundStoreRepository


def products() -> list[dict[str, Any]]:
    """The shipped catalogue read independently of the code under test."""
    text = resources.files("domain.chatbots").joinpath("catalog.json").read_text()
    items: list[dict[str, Any]] = json.loads(text)["products"]
    return items


def best(category: str, budget: float = float("inf"), brand: str | None = None) -> dict[str, Any]:
    fits = [p for p in products() if p["category"] == category and p["price"] <= budget]
    preferred = [p for p in fits if p["brand"] == brand] or fits
    return max(preferred, key=lambda p: (p["rating"], -p["price"]))


def make_bot(store: BaseStoreRepository | None = None) -> CustomerChatbotRepository:
    return CustomerChatbotRepository(
        MemoryCheckpointerRepository(), store or MemoryStoreRepository()
    )


async def say(bot: CustomerChatbotRepository, text: str, thread: str, user: str | None) -> str:
    response: str = (await bot.ainvoke(text, thread, user))["response"]
    return response


async def test_a_new_thread_recalls_the_budget_and_brand_told_in_an_old_one() -> None:
    bot = make_bot()
    told = await say(bot, "My budget is 900 euros and I prefer Acme.", "monday", "alice")
    assert "your budget is €900 and you prefer Acme" in told
    answer = await say(bot, "Can you recommend a laptop?", "friday", "alice")
    expected = best("laptop", 900, "Acme")
    assert f"the {expected['name']} (€{expected['price']:,}" in answer
    assert "within your €900 budget" in answer
    assert "your preferred brand" in answer


async def test_facts_are_stored_one_item_each_with_the_thread_they_came_from() -> None:
    bot = make_bot()
    await say(bot, "Hi, my name is Alice, my budget is 1.2k and I love Zephyr", "t1", "alice")
    items = {
        item.key: item.value
        for item in await bot.store_repository.asearch(facts_namespace("alice"))
    }
    assert items == {
        "name": {"value": "Alice", "thread_id": "t1"},
        "budget": {"value": 1200, "thread_id": "t1"},
        "preferred_brand": {"value": "Zephyr", "thread_id": "t1"},
    }


async def test_another_customer_does_not_get_those_facts() -> None:
    bot = make_bot()
    await say(bot, "My budget is 300 and I prefer Nova", "t1", "alice")
    answer = await say(bot, "what do you know about me?", "t2", "bob")
    assert answer.startswith("I don't know anything about you yet")
    expected = best("phone")
    assert expected["name"] in await say(bot, "recommend a phone", "t2", "bob")


async def test_the_customer_is_greeted_by_name_in_a_new_thread() -> None:
    bot = make_bot()
    await say(bot, "Call me Dana", "first", "dana")
    assert (await say(bot, "Hello!", "second", "dana")).startswith("Hello Dana, welcome back!")


async def test_what_do_you_know_lists_the_remembered_facts() -> None:
    bot = make_bot()
    await say(bot, "my budget is 500, Orbit is my favourite", "t1", "carl")
    answer = await say(bot, "What do you know about me?", "t2", "carl")
    assert answer == "I remember that your budget is €500 and you prefer Orbit."


async def test_forgetting_a_fact_deletes_it_from_the_store() -> None:
    bot = make_bot()
    await say(bot, "My budget is 400 and I like Acme", "t1", "erin")
    assert (await say(bot, "please forget my budget", "t2", "erin")) == (
        "Done: I forgot your budget."
    )
    assert await bot.store_repository.aget(facts_namespace("erin"), "budget") is None
    assert await bot.store_repository.aget(facts_namespace("erin"), "preferred_brand")
    answer = await say(bot, "a laptop?", "t3", "erin")
    assert best("laptop", brand="Acme")["name"] in answer


async def test_a_negated_brand_is_not_taken_as_a_preference() -> None:
    bot = make_bot()
    await say(bot, "I'm not a fan of Nova", "t1", "fay")
    assert await bot.store_repository.aget(facts_namespace("fay"), "preferred_brand") is None


async def test_a_price_limit_holds_for_one_request_and_leaves_the_budget() -> None:
    bot = make_bot()
    await say(bot, "My budget is 1000", "t1", "gus")
    answer = await say(bot, "headphones under 200?", "t1", "gus")
    assert best("headphones", 200)["name"] in answer
    item = await bot.store_repository.aget(facts_namespace("gus"), "budget")
    assert item is not None
    assert item.value["value"] == 1000


async def test_something_cheaper_follows_the_threads_last_suggestion() -> None:
    bot = make_bot()
    first = best("laptop")
    assert first["name"] in await say(bot, "show me a laptop", "t1", "hal")
    cheaper = best("laptop", first["price"] - 1)
    assert f"the {cheaper['name']}" in await say(bot, "anything cheaper?", "t1", "hal")
    # Another thread has no last suggestion: there, "cheaper" alone suggests nothing.
    assert (await say(bot, "anything cheaper?", "t2", "hal")).startswith("I can help you choose")


async def test_nothing_within_budget_offers_the_cheapest() -> None:
    bot = make_bot()
    cheapest = min((p for p in products() if p["category"] == "monitor"), key=lambda p: p["price"])
    answer = await say(bot, f"a monitor under {cheapest['price'] - 1}", "t1", None)
    assert answer.startswith(f"No monitor fits €{cheapest['price'] - 1:,}.")
    assert cheapest["name"] in answer


async def test_without_a_user_facts_last_only_for_the_thread() -> None:
    bot = make_bot()
    await say(bot, "my budget is 700 and I prefer Orbit", "t1", None)
    assert (await say(bot, "what do you know about me", "t1", None)).startswith("I remember")
    assert (await say(bot, "what do you know about me", "t2", None)).startswith("I don't know")
    assert await bot.store_repository.asearch(("users",)) == []


async def test_clearing_a_thread_keeps_the_customers_facts() -> None:
    bot = make_bot()
    await say(bot, "my budget is 650", "t1", "ivy")
    await bot.aclear_conversation("t1")
    assert await bot.aget_history("t1") == []
    assert "€650" in await say(bot, "what's my budget?", "t1", "ivy")


async def test_blocking_turns_from_a_thread_reach_a_loop_bound_store() -> None:
    bot = make_bot(LoopBoundStoreRepository())
    await asyncio.to_thread(bot.invoke, "my budget is 450 and I like Acme", "t1", "jo")
    answer = (await asyncio.to_thread(bot.invoke, "a tablet please", "t2", "jo"))["response"]
    assert best("tablet", 450, "Acme")["name"] in answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my budget is €1,250", 1250),
        ("I can spend up to 2k", 2000),
        ("budget: 300 eur", 300),
    ],
)
async def test_budget_phrasings(text: str, expected: int) -> None:
    bot = make_bot()
    await say(bot, text, "t", "kim")
    item = await bot.store_repository.aget(facts_namespace("kim"), "budget")
    assert item is not None
    assert item.value["value"] == expected


async def test_ainvoke_awaits_the_store_and_invoke_blocks_on_it() -> None:
    store = CountingStore()
    bot = make_bot(MemoryStoreRepository(store))
    await say(bot, "my budget is 450 and I like Acme", "t1", "lu")
    assert store.calls["batch"] == 0
    assert store.calls["abatch"] >= 3  # facts written, facts read, the turn recorded
    store.calls.update(batch=0, abatch=0)
    await asyncio.to_thread(bot.invoke, "a tablet please", "t2", "lu")
    assert store.calls["abatch"] == 0
    assert store.calls["batch"] >= 2
