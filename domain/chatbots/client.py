"""The internal BI assistant: answers questions over the sales table, follow-ups included."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from domain.chatbots.phrasing import phrase
from domain.chatbots.sales import SalesTable, compute
from domain.chatbots.sales_talk import describe, help_text, parse_question, state_question
from domain.conversation import last_query
from domain.repositories.chatbots import BaseChatbotRepository
from domain.repositories.checkpointers import BaseCheckpointerRepository
from domain.repositories.stores import BaseStoreRepository

PERSONA = "You are the company's internal sales analyst."


class ClientState(MessagesState):
    """A BI thread: its messages and the last question asked, for follow-ups."""

    last_question: dict[str, Any] | None


def client_workflow(
    sales: SalesTable, chat_model: BaseChatModel | None = None
) -> StateGraph[ClientState, None, ClientState, ClientState]:
    """One node: understand the question (with the thread's last one), compute, answer."""

    def analyse(state: ClientState) -> dict[str, Any]:
        messages = state["messages"]
        previous = state_question(state.get("last_question"))
        question = parse_question(last_query(messages), sales, previous)
        if question is None:
            return {"messages": [AIMessage(help_text(sales))]}
        draft = describe(compute(sales, question))
        reply = phrase(chat_model, persona=PERSONA, facts=draft, draft=draft, messages=messages)
        return {"messages": [AIMessage(reply)], "last_question": question.to_state()}

    builder = StateGraph(ClientState)
    builder.add_node("analyse", analyse)
    builder.add_edge(START, "analyse")
    builder.add_edge("analyse", END)
    return builder


class ClientChatbotRepository(BaseChatbotRepository):
    """The BI assistant for the company's staff, with short- and long-term memory."""

    assistant = "bi_assistant"

    def __init__(
        self,
        checkpointer_repository: BaseCheckpointerRepository,
        store_repository: BaseStoreRepository,
        *,
        chat_model: BaseChatModel | None = None,
        sales: SalesTable | None = None,
    ) -> None:
        self.sales = sales if sales is not None else SalesTable.load()
        super().__init__(
            client_workflow(self.sales, chat_model), checkpointer_repository, store_repository
        )
