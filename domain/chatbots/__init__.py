"""The two chatbots chatmem ships: a BI assistant for staff and a shopping assistant."""

from domain.chatbots.client import ClientChatbotRepository
from domain.chatbots.customer import CustomerChatbotRepository

__all__ = ["ClientChatbotRepository", "CustomerChatbotRepository"]
