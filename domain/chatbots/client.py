"""The internal BI assistant: answers questions over the sales table, follow-ups included."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.base import Result

from domain.chatbots.nodes import Decision, store_node
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

    def analyse(state: dict[str, Any], config: RunnableConfig, results: list[Result]) -> Decision:
        previous = state_question(state.get("last_question"))
        question = parse_question(last_query(state["messages"]), sales, previous)
        if question is None:
            return Decision(draft=help_text(sales))
        answer = describe(compute(sales, question))
        return Decision({"last_question": question.to_state()}, draft=answer, facts=answer)

    builder = StateGraph(ClientState)
    builder.add_node(
        "analyse", store_node("analyse", analyse, persona=PERSONA, chat_model=chat_model)
    )
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
