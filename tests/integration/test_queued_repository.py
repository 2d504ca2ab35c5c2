"""QueuedStoreRepository: the store port, written behind the queue."""

from __future__ import annotations

from domain.repositories.stores import BaseStoreRepository
from infra.stores.keys import QueueKeys
from infra.stores.repository import QueuedStoreRepository
from tests.integration.conftest import Drain


async def remember(repository: BaseStoreRepository, user: str, fact: str) -> None:
    """Code written against the port alone, as a chatbot node is."""
    await repository.aput(("users", user, "facts"), fact, {"fact": fact})


async def test_code_written_against_the_port_works_with_the_queued_repository(
    redis_url: str, database_url: str, keys: QueueKeys, drain: Drain
) -> None:
    async with QueuedStoreRepository.from_url(
        redis_url, database_url, queue_name=keys.queue
    ) as repository:
        await remember(repository, "u1", "likes tea")
        item = await repository.aget(("users", "u1", "facts"), "likes tea")
        assert item is not None
        assert [i.key for i in await repository.asearch(("users", "u1"))] == ["likes tea"]
        await drain(keys)
        await repository.adelete(("users", "u1", "facts"), "likes tea")
        assert await repository.aget(("users", "u1", "facts"), "likes tea") is None
        stored = await repository.store.postgres.aget(("users", "u1", "facts"), "likes tea")
        assert stored is not None  # the delete is queued, not yet persisted
