from __future__ import annotations

import asyncio

import asyncpg
import pytest

from domain.errors import ServiceUnavailableError
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient


async def test_redis_client_reports_version_and_closes(redis_url: str) -> None:
    client = RedisClient.from_url(redis_url)
    health = await client.health()
    assert health.ok
    assert health.version is not None
    assert health.version.split()[0] in {"redis", "valkey"}
    await client.ping()
    await client.redis.set("k", "v")
    assert await client.redis.get("k") == b"v"
    await client.aclose()


async def test_redis_client_names_redis_when_unreachable() -> None:
    client = RedisClient.from_url("redis://:hunter2@127.0.0.1:1/0", connect_timeout=0.5)
    health = await client.health()
    assert not health.ok
    with pytest.raises(ServiceUnavailableError) as caught:
        await client.ping()
    await client.aclose()
    assert caught.value.service == "Redis"
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)


async def test_postgres_client_round_trips_jsonb_with_orjson(database_url: str) -> None:
    async with await PostgresClient.connect(database_url) as client:
        health = await client.health()
        assert health.ok
        assert str(health.version).startswith("postgresql ")
        value = {"text": "héllo ✓", "n": 12345678901234, "f": 0.5, "nested": [1, {"a": None}]}
        got = await client.pool.fetchval("SELECT $1::jsonb", value)
        assert got == value


async def test_postgres_client_names_postgres_when_unreachable() -> None:
    with pytest.raises(ServiceUnavailableError) as caught:
        await PostgresClient.connect("postgresql://app:hunter2@127.0.0.1:1/mem", connect_timeout=1)
    assert caught.value.service == "PostgreSQL"
    assert "hunter2" not in str(caught.value)


async def test_postgres_client_close_releases_connections(database_url: str) -> None:
    client = await PostgresClient.connect(database_url, min_size=2, max_size=2)
    await client.close()
    with pytest.raises(asyncpg.exceptions.InterfaceError):
        await client.pool.fetchval("SELECT 1")


async def test_redis_client_gives_up_on_a_server_that_never_answers() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Takes every command and answers none, as a hung server would.
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        default = RedisClient.from_url(f"redis://127.0.0.1:{port}/0")
        assert default.redis.connection_pool.connection_kwargs["socket_timeout"] == 10.0
        await default.aclose()
        client = RedisClient.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ServiceUnavailableError, match="Redis"):
            await client.ping()
        assert asyncio.get_running_loop().time() - started < 5
        await client.aclose()
    finally:
        server.close()
        await server.wait_closed()
