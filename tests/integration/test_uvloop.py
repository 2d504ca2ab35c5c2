"""The checkpointer and the queued store on uvloop, the event loop uvicorn runs chat services on."""

from __future__ import annotations

import uvloop

from infra.stores.keys import QueueKeys
from infra.stores.queued import QueuedStore
from tests.checkpointer_support import chat_graph, chat_turn, open_saver, turn_config


def test_the_checkpointer_keeps_a_conversation_on_uvloop(redis_url: str) -> None:
    async def conversation() -> tuple[list[str], object]:
        async with open_saver(redis_url) as saver:
            graph = chat_graph(saver)
            for text in ("hello", "again"):
                await chat_turn(graph, "t-uvloop", text)
            state = await graph.aget_state(turn_config("t-uvloop"))
            await saver.adelete_thread("t-uvloop")
            return [m.content for m in state.values["messages"]], await saver.aget_tuple(
                turn_config("t-uvloop")
            )

    messages, after_delete = uvloop.run(conversation())
    assert messages == ["hello", "seen 1", "again", "seen 3"]
    assert after_delete is None


def test_the_queued_store_reads_its_writes_on_uvloop(
    redis_url: str, database_url: str, keys: QueueKeys
) -> None:
    async def writes() -> tuple[object, object]:
        async with QueuedStore.from_url(redis_url, database_url, queue_name=keys.queue) as store:
            await store.setup()
            await store.aput(("users", "u1"), "prefs", {"lang": "en"})
            written = await store.aget(("users", "u1"), "prefs")
            await store.adelete(("users", "u1"), "prefs")
            return written, await store.aget(("users", "u1"), "prefs")

    written, deleted = uvloop.run(writes())
    assert written is not None
    assert getattr(written, "value", None) == {"lang": "en"}
    assert deleted is None
