"""Checkpointer repositories: short-term memory of a thread, behind one small port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver


def thread_config(thread_id: str) -> RunnableConfig:
    """The config that addresses a thread's latest checkpoint."""
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


class BaseCheckpointerRepository(ABC):
    """Gives a workflow its checkpointer and reads or clears a thread's checkpoint."""

    @property
    @abstractmethod
    def checkpointer(self) -> BaseCheckpointSaver[Any]:
        """The saver a workflow is compiled with."""

    def get_checkpoint(self, thread_id: str) -> CheckpointTuple | None:
        """The latest checkpoint of a thread, or None when it has none."""
        return self.checkpointer.get_tuple(thread_config(thread_id))

    async def aget_checkpoint(self, thread_id: str) -> CheckpointTuple | None:
        """Async twin of get_checkpoint."""
        return await self.checkpointer.aget_tuple(thread_config(thread_id))

    def delete_checkpoint(self, thread_id: str) -> None:
        """Remove every checkpoint and pending write of a thread."""
        self.checkpointer.delete_thread(thread_id)

    async def adelete_checkpoint(self, thread_id: str) -> None:
        """Async twin of delete_checkpoint."""
        await self.checkpointer.adelete_thread(thread_id)


class MemoryCheckpointerRepository(BaseCheckpointerRepository):
    """Checkpoints in process memory (tests, one-off scripts); gone on exit."""

    def __init__(self, saver: InMemorySaver | None = None) -> None:
        self._saver = saver if saver is not None else InMemorySaver()

    @property
    def checkpointer(self) -> InMemorySaver:
        """The in-memory saver."""
        return self._saver
