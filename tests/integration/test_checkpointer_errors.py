"""Bad input gets langgraph's error; an absent Redis gets one naming Redis, and writes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from redis.asyncio.connection import parse_url
from redis.exceptions import ResponseError

from domain.errors import ServiceUnavailableError
from infra.checkpointers import RedisCheckpointSaver
from infra.checkpointers.connections import pack, reply_error
from infra.checkpointers.keys import MISSING_THREAD_MESSAGE
from infra.redis_client import RedisClient
from tests.checkpointer_support import chat_graph, chat_turn, keys_under, open_saver, turn_config

NOWHERE = "redis://:hunter2@127.0.0.1:1/0"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.mark.parametrize(
    "config",
    [{}, {"configurable": {}}, {"configurable": {"checkpoint_ns": ""}}],
    ids=["no configurable", "empty configurable", "no thread_id"],
)
async def test_a_config_without_thread_id_gets_langgraphs_error(
    redis_url: str, config: dict[str, Any]
) -> None:
    async with open_saver(redis_url) as saver:
        for call in (
            saver.aget_tuple(config),  # type: ignore[arg-type]
            saver.aput(config, generate_checkpoint(), generate_metadata(), {}),  # type: ignore[arg-type]
            saver.aput_writes(config, [("ch", 1)], "task"),  # type: ignore[arg-type]
        ):
            with pytest.raises(ValueError, match=MISSING_THREAD_MESSAGE):
                await call


@pytest.mark.parametrize("thread_id", [123, None, "", b"bytes"])
async def test_a_thread_id_that_is_not_a_non_empty_str_is_refused(
    redis_url: str, redis: aioredis.Redis, thread_id: object
) -> None:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    async with open_saver(redis_url) as saver:
        with pytest.raises(ValueError, match=MISSING_THREAD_MESSAGE) as caught:
            await saver.aput(config, generate_checkpoint(), generate_metadata(), {})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="thread_id must be a non-empty str"):
            await saver.adelete_thread(thread_id)  # type: ignore[arg-type]
        assert await keys_under(redis, saver.keys.prefix) == set()
    assert "thread_id must be a non-empty str" in str(caught.value)


@pytest.mark.parametrize("thread_id", [None, ""])
async def test_a_graph_run_without_a_usable_thread_id_fails_and_writes_nothing(
    redis_url: str, redis: aioredis.Redis, thread_id: str | None
) -> None:
    # langgraph itself turns other non-str ids (123) into strings before any saver sees them.
    async with open_saver(redis_url) as saver:
        with pytest.raises(ValueError, match=MISSING_THREAD_MESSAGE):
            await chat_turn(chat_graph(saver), thread_id, "hello")  # type: ignore[arg-type]
        assert await keys_under(redis, saver.keys.prefix) == set()


async def test_bad_arguments_are_refused_before_anything_is_sent(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        with pytest.raises(TypeError, match="not a str"):
            await saver.aprune("t1")
        with pytest.raises(ValueError, match="Unknown prune strategy"):
            await saver.aprune(["t1"], strategy="everything")
        with pytest.raises(TypeError, match="not a str"):
            await saver.adelete_for_runs("run-1")
        with pytest.raises(ValueError, match="checkpoint_id"):
            await saver.aput_writes(generate_config("t1"), [("ch", 1)], "task")
    with pytest.raises(ValueError, match="ttl_minutes"):
        RedisCheckpointSaver.from_url(redis_url, ttl_minutes=0)
    with pytest.raises(ValueError, match="key_prefix"):
        RedisCheckpointSaver.from_url(redis_url, key_prefix="tenant:{a}")
    with pytest.raises(ValueError, match="pickle"):
        RedisCheckpointSaver.from_url(redis_url, serde=JsonPlusSerializer(pickle_fallback=True))


async def test_a_pickled_value_in_redis_is_refused_not_loaded(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        config = generate_config("t1")
        checkpoint = generate_checkpoint(channel_values={"ch": "v"}, channel_versions={"ch": 1})
        await saver.aput(config, checkpoint, generate_metadata(), {"ch": 1})
        # Someone with write access to Redis plants a pickle where the value was.
        await redis.hset(saver.keys.thread("t1")[0], "v\0\0ch\0" + "1", b"pickle\0payload")
        with pytest.raises(ValueError, match="pickle"):
            await saver.aget_tuple(config)


async def test_entering_a_saver_without_redis_names_redis_and_hides_the_password() -> None:
    with pytest.raises(ServiceUnavailableError) as caught:
        async with RedisCheckpointSaver.from_url(NOWHERE, connect_timeout=0.5):
            pass
    assert caught.value.service == "Redis"
    assert "127.0.0.1:1" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_every_call_without_redis_names_redis() -> None:
    saver = RedisCheckpointSaver.from_url(NOWHERE, connect_timeout=0.5)
    config = generate_config("t1", checkpoint_id="1")
    calls = [
        saver.aget_tuple(config),
        saver.aput(config, generate_checkpoint(), generate_metadata(), {}),
        saver.aput_writes(config, [("ch", 1)], "task"),
        saver.adelete_thread("t1"),
        saver.acopy_thread("t1", "t2"),
        saver.aprune(["t1"]),
        saver.adelete_for_runs(["run-1"]),
    ]
    for call in calls:
        with pytest.raises(ServiceUnavailableError, match="Redis"):
            await call
    with pytest.raises(ServiceUnavailableError, match="Redis"):
        [t async for t in saver.alist(config)]
    await saver.aclose()


@contextlib.asynccontextmanager
async def cutting_proxy(
    redis_url: str, marker: bytes, *, hold: asyncio.Event | None = None
) -> AsyncIterator[str]:
    """A proxy to ``redis_url`` that drops the connection just before ``marker`` goes out.

    With ``hold``, it keeps the connection open instead and sends nothing more
    until ``hold`` is set, as a hung server or a network that lost its route
    would: the client hears nothing, and no error either.
    """
    target = parse_url(redis_url)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if "path" in target:
            server_r, server_w = await asyncio.open_unix_connection(target["path"])
        else:
            server_r, server_w = await asyncio.open_connection(target["host"], target["port"])

        async def to_client() -> None:
            while data := await server_r.read(65536):
                client_w.write(data)
                await client_w.drain()

        answering = asyncio.create_task(to_client())
        try:
            while data := await client_r.read(65536):
                if (at := data.find(marker)) >= 0:
                    server_w.write(data[:at])
                    await server_w.drain()
                    if hold is not None:
                        await hold.wait()
                    # Let Redis read what it got before it sees the connection go.
                    await asyncio.sleep(0.05)
                    return
                server_w.write(data)
                await server_w.drain()
        finally:
            answering.cancel()
            for writer in (server_w, client_w):
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/{target.get('db', 0)}"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_put_cut_off_before_exec_leaves_no_trace(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with cutting_proxy(redis_url, b"EXEC\r\n") as proxied:
        saver = RedisCheckpointSaver.from_url(proxied, key_prefix="cp-test:cut")
        with pytest.raises(ServiceUnavailableError, match="Redis"):
            await saver.aput(generate_config("t1"), generate_checkpoint(), generate_metadata(), {})
        with pytest.raises(ServiceUnavailableError, match="Redis"):
            await saver.aput_writes(generate_config("t1", checkpoint_id="1"), [("ch", 1)], "t")
        await saver.aclose()
    assert await keys_under(redis, "cp-test:cut") == set()


@pytest.mark.parametrize("built", ["from_url", "on a client"])
async def test_a_server_that_stops_answering_times_out_and_nothing_is_written(
    redis_url: str, redis: aioredis.Redis, built: str
) -> None:
    hold = asyncio.Event()
    async with cutting_proxy(redis_url, b"EXEC\r\n", hold=hold) as proxied:
        if built == "from_url":
            saver = RedisCheckpointSaver.from_url(proxied, key_prefix="cp-test:hung", timeout=0.3)
        else:
            # As RedisCheckpointerRepository.from_settings builds it: the client's timeout.
            client = RedisClient.from_url(proxied, socket_timeout=0.3)
            saver = RedisCheckpointSaver(client, key_prefix="cp-test:hung", owns_client=True)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ServiceUnavailableError, match=r"no reply from Redis within 0\.3s"):
            await saver.aput(generate_config("t1"), generate_checkpoint(), generate_metadata(), {})
        assert asyncio.get_running_loop().time() - started < 5
        # The connection that timed out is not used again: the next call opens
        # another, whose reads go through (the proxy holds only at EXEC).
        assert await saver.aget_tuple(generate_config("t1")) is None
        hold.set()
        await saver.aclose()
    # The held EXEC never reached Redis: the transaction went with its connection.
    assert await keys_under(redis, "cp-test:hung") == set()


async def test_a_command_refused_in_a_transaction_is_raised_and_nothing_is_written(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        data, order = saver.keys.thread("t1")[:2]
        refused = [("MULTI",), ("HSET", data, "f", "v"), ("ZADD", order), ("EXEC",)]
        # Not EXECABORT: the error of the command Redis refused.
        with pytest.raises(ResponseError, match="wrong number of arguments for 'zadd'"):
            await saver.store.scripts.transaction(pack(refused), len(refused), 0)
        assert await keys_under(redis, saver.keys.prefix) == set()


async def test_a_server_still_loading_its_data_counts_as_unavailable(redis_url: str) -> None:
    async with open_saver(redis_url) as saver:
        connection = saver.store.scripts.connections
        real = connection.send

        async def loading(payload: bytes, count: int) -> list[Any]:
            await real(payload, count)
            return [reply_error("LOADING Redis is loading the dataset in memory")] * count

        connection.send = loading  # type: ignore[method-assign]
        for call in (saver.aget_tuple(turn_config("t1")), chat_turn(chat_graph(saver), "t1", "hi")):
            with pytest.raises(ServiceUnavailableError, match="loading"):
                await call
        # A write, not only the read that starts a turn.
        config = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c1"}}
        with pytest.raises(ServiceUnavailableError, match="loading"):
            await saver.aput_writes(config, [("messages", "hi")], "task-1")


async def test_a_saver_reconnects_after_losing_its_connection(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "t1", "hello")
        # Only the saver's own connection: the server is shared.
        own_id = await saver.store.scripts.connections.execute("CLIENT", "ID")
        assert await redis.client_kill_filter(_id=own_id) == 1
        result = await chat_turn(graph, "t1", "again")
        assert len(result["messages"]) == 4
        assert await saver.aget_tuple(turn_config("t1")) is not None


async def test_a_server_that_lost_the_scripts_gets_them_again_reads_and_writes_go_on(
    redis_url: str, redis: aioredis.Redis
) -> None:
    async with open_saver(redis_url) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "t1", "hello", run_id="run-1")
        # As after a restart. A read runs a script of its own.
        await redis.script_flush()
        latest = await saver.aget_tuple(turn_config("t1"))
        assert latest is not None
        # A write with a run starts with a script, before its MULTI ... EXEC.
        await redis.script_flush()
        checkpoint = {**latest.checkpoint, "id": str(uuid6())}
        metadata: Any = {"source": "update", "step": 9, "run_id": "run-2"}
        await saver.aput(latest.config, checkpoint, metadata, {})
        newest = await saver.aget_tuple(turn_config("t1"))
        assert newest is not None
        assert newest.checkpoint["id"] == checkpoint["id"]
        # The run was recorded: deleting it leaves run-1's checkpoints only.
        await saver.adelete_for_runs(["run-2"])
        left = {t.metadata.get("run_id") async for t in saver.alist(turn_config("t1"))}
        assert left == {"run-1"}
