"""The BI assistant: answers computed from the sales table, follow-ups from the thread."""

from __future__ import annotations

import asyncio
import csv
from collections import defaultdict
from datetime import date
from importlib import resources

import pytest

from domain.chatbots import ClientChatbotRepository
from domain.chatbots.sales import Sale, SalesTable
from domain.repositories.checkpointers import MemoryCheckpointerRepository
from domain.repositories.stores import MemoryStoreRepository
from tests.unit.chatbot_fakes import RecordingChatModel


def rows() -> list[dict[str, str]]:
    """The shipped table read independently of the code under test."""
    text = resources.files("domain.chatbots").joinpath("sales.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def revenue(row: dict[str, str]) -> int:
    return int(row["units"]) * int(row["unit_price"])


def euros(amount: float) -> str:
    return f"€{amount:,.0f}"


@pytest.fixture
def bot() -> ClientChatbotRepository:
    return ClientChatbotRepository(MemoryCheckpointerRepository(), MemoryStoreRepository())


async def ask(bot: ClientChatbotRepository, query: str, thread: str = "bi") -> str:
    reply = await bot.ainvoke(query, thread, "analyst")
    response: str = reply["response"]
    return response


async def test_total_revenue_is_the_sum_of_the_table(bot: ClientChatbotRepository) -> None:
    table = rows()
    answer = await ask(bot, "What is our total revenue?")
    assert euros(sum(revenue(r) for r in table)) in answer
    assert f"({len(table)} orders)" in answer


async def test_revenue_of_a_region_in_a_month(bot: ClientChatbotRepository) -> None:
    north_march = [r for r in rows() if r["region"] == "North" and r["date"].startswith("2024-03")]
    answer = await ask(bot, "revenue in the North in March")
    assert "North, March 2024" in answer
    assert euros(sum(revenue(r) for r in north_march)) in answer


async def test_top_product_of_a_quarter(bot: ClientChatbotRepository) -> None:
    by_product: dict[str, int] = defaultdict(int)
    for row in rows():
        if row["date"][5:7] in ("04", "05", "06"):
            by_product[row["product"]] += revenue(row)
    best = max(by_product, key=lambda p: by_product[p])
    answer = await ask(bot, "Which product made the most revenue in Q2?")
    assert answer.startswith("Top product by revenue (all regions, Q2 2024)")
    assert f"{best} with {euros(by_product[best])}" in answer


async def test_units_by_region_lists_every_region(bot: ClientChatbotRepository) -> None:
    units: dict[str, int] = defaultdict(int)
    for row in rows():
        units[row["region"]] += int(row["units"])
    answer = await ask(bot, "units by region")
    for region, count in units.items():
        assert f"- {region}: {count:,} units" in answer
    assert f"Total: {sum(units.values()):,} units" in answer


async def test_average_order_value_of_a_product(bot: ClientChatbotRepository) -> None:
    aurora = [revenue(r) for r in rows() if r["product"] == "Aurora Laptop"]
    answer = await ask(bot, "average order value for Aurora")
    assert f"€{sum(aurora) / len(aurora):,.2f}" in answer


async def test_a_follow_up_reuses_the_threads_previous_question(
    bot: ClientChatbotRepository,
) -> None:
    south_march: dict[str, int] = defaultdict(int)
    for row in rows():
        if row["region"] == "South" and row["date"].startswith("2024-03"):
            south_march[row["product"]] += revenue(row)
    best = max(south_march, key=lambda p: south_march[p])
    await ask(bot, "top product in March")
    answer = await ask(bot, "and in the South?")
    assert answer.startswith("Top product by revenue (South, March 2024)")
    assert f"{best} with {euros(south_march[best])}" in answer


async def test_after_clearing_the_thread_a_follow_up_has_no_context(
    bot: ClientChatbotRepository,
) -> None:
    await ask(bot, "top product in March")
    await bot.aclear_conversation("bi")
    answer = await ask(bot, "and in the South?")
    south = [revenue(r) for r in rows() if r["region"] == "South"]
    assert answer == f"Revenue for South, all months: {euros(sum(south))} ({len(south)} orders)."


async def test_another_table_gives_other_answers() -> None:
    sales = SalesTable(
        [
            Sale("A-1", date(2025, 1, 3), "Mars", "Rover", "robots", 2, 500),
            Sale("A-2", date(2025, 2, 9), "Moon", "Rover", "robots", 1, 500),
        ]
    )
    bot = ClientChatbotRepository(
        MemoryCheckpointerRepository(), MemoryStoreRepository(), sales=sales
    )
    assert (
        await ask(bot, "total revenue") == "Revenue for all regions, all months: €1,500 (2 orders)."
    )
    assert "Mars with €1,000" in await ask(bot, "best region")


async def test_a_question_it_cannot_parse_gets_what_it_can_answer(
    bot: ClientChatbotRepository,
) -> None:
    answer = await ask(bot, "tell me a joke")
    assert answer.startswith(f"I answer questions about {len(rows())} orders")


@pytest.mark.parametrize("blocking", [False, True])
async def test_a_configured_chat_model_words_the_computed_answer(blocking: bool) -> None:
    model = RecordingChatModel(answer="Revenue is healthy.")
    bot = ClientChatbotRepository(
        MemoryCheckpointerRepository(), MemoryStoreRepository(), chat_model=model
    )
    if blocking:
        reply = await asyncio.to_thread(bot.invoke, "total revenue", "bi", "analyst")
    else:
        reply = await bot.ainvoke("total revenue", "bi", "analyst")
    assert reply["response"] == "Revenue is healthy."
    [prompt] = model.prompts
    assert euros(sum(revenue(r) for r in rows())) in str(prompt[0].content)
    assert prompt[-1].content == "total revenue"


async def test_a_failing_chat_model_leaves_the_computed_answer() -> None:
    bot = ClientChatbotRepository(
        MemoryCheckpointerRepository(),
        MemoryStoreRepository(),
        chat_model=RecordingChatModel(fail=True),
    )
    answer = await ask(bot, "total revenue")
    assert answer.startswith("Revenue for all regions, all months: ")
