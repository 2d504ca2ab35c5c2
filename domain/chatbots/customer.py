"""The customer shopping assistant: suggests products and remembers the customer across threads.

Facts about a customer (name, budget, preferred brand) live in the store under
("users", <user>, "facts"), one item per fact, so a new conversation starts
knowing them. What the customer shops for right now (the category, the last
suggestion) lives in the thread's state: short-term memory.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.base import Item, Op, PutOp, Result, SearchOp

from domain.chatbots.catalog import Catalog, Product
from domain.chatbots.customer_talk import (
    FACT_KEYS,
    FACT_WORDS,
    asks_what_is_known,
    category_asked,
    describe_facts,
    facts_said,
    facts_to_forget,
    is_greeting,
    request_limit,
    wants_cheaper,
)
from domain.chatbots.nodes import Decision, store_node
from domain.conversation import last_query
from domain.models import Namespace, user_namespace
from domain.repositories.chatbots import BaseChatbotRepository
from domain.repositories.checkpointers import BaseCheckpointerRepository
from domain.repositories.stores import BaseStoreRepository

PERSONA = "You are a friendly shopping assistant for an electronics shop."


class CustomerState(MessagesState):
    """A shopping thread: messages, what is being shopped for, this turn's fact changes."""

    category: str | None
    last_sku: str | None
    noted: dict[str, Any]
    forgotten: list[str]
    # Facts of a customer without a user id: remembered for this thread only.
    session_facts: dict[str, Any]


def facts_namespace(user_id: str) -> Namespace:
    """Where a customer's facts live: ("users", <user>, "facts")."""
    return user_namespace(user_id, "facts")


def facts_of(result: Result) -> dict[str, Any]:
    """The remembered facts in the result of a search of a customer's facts, {key: value}."""
    items = result if isinstance(result, list) else []
    return {
        item.key: item.value["value"]
        for item in items
        if isinstance(item, Item) and item.key in FACT_KEYS
    }


def _configured(config: RunnableConfig, name: str) -> Any:
    return config.get("configurable", {}).get(name)


def _a(category: str) -> str:
    return category if category.endswith("s") else f"a {category}"


def _plural(category: str) -> str:
    return category if category.endswith("s") else f"{category}s"


def suggestion(
    catalog: Catalog,
    category: str,
    facts: dict[str, Any],
    *,
    limit: int | None,
    after: Product | None,
) -> tuple[str, Product | None]:
    """A suggestion in words, and the product suggested (None when nothing fits)."""
    budget = limit if limit is not None else facts.get("budget")
    brand = facts.get("preferred_brand")
    below = after.price if after is not None and after.category == category else None
    best, alternative = catalog.pick(category, budget=budget, brand=brand, below=below)
    if best is None:
        if below is not None and after is not None:
            within = f" within €{budget:,}" if budget is not None else ""
            return f"Nothing in {_plural(category)}{within} is cheaper than the {after.name}.", None
        cheapest = catalog.cheapest(category)
        cheapest_line = f" The cheapest is the {cheapest.line()}." if cheapest else ""
        return f"No {category} fits €{budget:,}.{cheapest_line}", None
    constraint = ""
    if limit is not None:
        constraint = f" under €{limit:,}"
    elif budget is not None:
        constraint = f" within your €{budget:,} budget"
    text = f"For {_a(category)}{constraint}, I'd suggest the {best.line()}: {best.highlights}."
    if brand is not None and best.brand == brand:
        text += f" It's from {brand}, your preferred brand."
    elif brand is not None:
        text += f" Nothing from {brand} fits, so this is the best-rated alternative."
    if alternative is not None:
        text += f" Also worth a look: the {alternative.line()}."
    return text, best


def _acknowledgements(
    text: str, state: dict[str, Any], facts: dict[str, Any], *, across_threads: bool
) -> list[str]:
    """Greeting, and what the assistant learnt, forgot or knows about the customer."""
    noted, forgotten = state.get("noted", {}), state.get("forgotten", [])
    parts = []
    if is_greeting(text):
        name = facts.get("name")
        welcome = ", welcome back" if name and "name" not in noted else ""
        parts.append(f"Hello {name}{welcome}!" if name else "Hello!")
    if forgotten:
        parts.append(f"Done: I forgot your {' and '.join(FACT_WORDS[k] for k in forgotten)}.")
    if noted:
        scope = "next time too" if across_threads else "for this conversation"
        parts.append(f"Noted: {describe_facts(noted)}. I'll remember it {scope}.")
    if asks_what_is_known(text):
        known = describe_facts(facts)
        parts.append(
            f"I remember that {known}."
            if known
            else "I don't know anything about you yet: tell me your budget or favourite brand."
        )
    return parts


def _offer(catalog: Catalog) -> str:
    return (
        f"I can help you choose {', '.join(map(_plural, catalog.categories))}. Tell me your "
        f"budget and favourite brand ({', '.join(catalog.brands)}) and I'll remember them."
    )


def customer_workflow(
    catalog: Catalog, chat_model: BaseChatModel | None = None
) -> StateGraph[CustomerState, None, CustomerState, CustomerState]:
    """Two nodes: remember what the message says about the customer, then answer."""

    def remember(state: dict[str, Any], config: RunnableConfig, results: list[Result]) -> Decision:
        text = last_query(state["messages"])
        noted = facts_said(text, catalog.brands)
        forgotten = [key for key in facts_to_forget(text) if key not in noted]
        changes = {"noted": noted, "forgotten": forgotten}
        user_id = _configured(config, "user_id")
        if user_id is None:
            kept = {k: v for k, v in state.get("session_facts", {}).items() if k not in forgotten}
            return Decision({**changes, "session_facts": {**kept, **noted}})
        namespace, thread_id = facts_namespace(user_id), _configured(config, "thread_id")
        # Facts are kept for good (ttl None); a put of None deletes.
        writes = [
            PutOp(namespace, k, {"value": v, "thread_id": thread_id}) for k, v in noted.items()
        ]
        writes += [PutOp(namespace, key, None) for key in forgotten]
        return Decision(changes, writes=writes)

    def facts_read(state: dict[str, Any], config: RunnableConfig) -> list[Op]:
        user_id = _configured(config, "user_id")
        if user_id is None:
            return []
        return [SearchOp(facts_namespace(user_id), limit=len(FACT_KEYS) * 4)]

    def respond(state: dict[str, Any], config: RunnableConfig, results: list[Result]) -> Decision:
        text = last_query(state["messages"])
        read = bool(results)
        facts: dict[str, Any] = facts_of(results[0]) if read else state.get("session_facts", {})
        parts = _acknowledgements(text, state, facts, across_threads=read)
        update: dict[str, Any] = {}
        limit, cheaper = request_limit(text), wants_cheaper(text)
        category = category_asked(text, catalog.categories)
        if category is None and (cheaper or limit is not None or state.get("noted")):
            category = state.get("category")
        if category is not None:
            after = catalog.by_sku(state.get("last_sku")) if cheaper else None
            said, product = suggestion(catalog, category, facts, limit=limit, after=after)
            parts.append(said)
            update = {"category": category, "last_sku": product.sku if product else None}
        known = f"Known about the customer: {describe_facts(facts) or 'nothing yet'}."
        return Decision(update, draft=" ".join(parts) or _offer(catalog), facts=known)

    answer = store_node(
        "respond", respond, reads=facts_read, persona=PERSONA, chat_model=chat_model
    )
    builder = StateGraph(CustomerState)
    builder.add_node("remember", store_node("remember", remember))
    builder.add_node("respond", answer)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "respond")
    builder.add_edge("respond", END)
    return builder


class CustomerChatbotRepository(BaseChatbotRepository):
    """The shopping assistant for customers, with short- and long-term memory."""

    assistant = "shopping_assistant"

    def __init__(
        self,
        checkpointer_repository: BaseCheckpointerRepository,
        store_repository: BaseStoreRepository,
        *,
        chat_model: BaseChatModel | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.catalog = catalog if catalog is not None else Catalog.load()
        super().__init__(
            customer_workflow(self.catalog, chat_model), checkpointer_repository, store_repository
        )
