"""The in-memory checkpointer repository reads and really deletes a thread's checkpoint."""

from __future__ import annotations

from domain.repositories.checkpointers import MemoryCheckpointerRepository
from tests.checkpointer_support import chat_graph, chat_turn


async def test_memory_repository_reads_and_deletes_a_thread() -> None:
    repository = MemoryCheckpointerRepository()
    graph = chat_graph(repository.checkpointer)
    await chat_turn(graph, "user-1", "hello")
    await chat_turn(graph, "user-2", "hello")

    checkpoint = await repository.aget_checkpoint("user-1")
    assert checkpoint is not None
    assert len(checkpoint.checkpoint["channel_values"]["messages"]) == 2
    assert repository.get_checkpoint("user-2") is not None

    await repository.adelete_checkpoint("user-1")
    repository.delete_checkpoint("user-2")

    assert await repository.aget_checkpoint("user-1") is None
    assert repository.get_checkpoint("user-2") is None
