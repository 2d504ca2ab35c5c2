"""A blocking caller drives a chatbot whose store is bound to a loop on another thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from domain.errors import EventLoopThreadError
from domain.repositories.chatbots import BaseChatbotRepository
from domain.repositories.checkpointers import MemoryCheckpointerRepository
from infra.loop_thread import LoopThread
from tests.unit.chatbot_fakes import LoopBoundStoreRepository, echo_workflow


async def open_bot() -> BaseChatbotRepository:
    return BaseChatbotRepository(
        echo_workflow(), MemoryCheckpointerRepository(), LoopBoundStoreRepository()
    )


def test_blocking_calls_reach_a_store_bound_to_the_loop_thread() -> None:
    with LoopThread() as loop_thread:
        bot = loop_thread.run(open_bot())
        reply = bot.invoke("hi", "t", "u1")
        assert reply["response"] == "message 1: hi"
        item = bot.get_history("t")
        assert item[-1]["content"] == "message 1: hi"
        stored = loop_thread.run(
            bot.store_repository.aget(("users", "u1", "conversations"), reply["turn_key"])
        )
        assert stored is not None


def test_run_refuses_on_its_own_loop_thread() -> None:
    with LoopThread() as loop_thread:

        async def nested() -> None:
            loop_thread.run(asyncio.sleep(0))

        with pytest.raises(EventLoopThreadError):
            loop_thread.run(nested())


def test_stop_ends_the_thread() -> None:
    loop_thread = LoopThread(name="chatmem-loop-under-test").start()
    assert loop_thread.run(asyncio.sleep(0, result=7)) == 7
    loop_thread.stop()
    assert loop_thread.loop.is_closed()
    assert "chatmem-loop-under-test" not in {t.name for t in threading.enumerate()}
