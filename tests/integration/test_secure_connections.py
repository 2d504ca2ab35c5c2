"""Passwords and TLS in REDIS_URL and DATABASE_URL reach every client chatmem opens.

Against servers the session starts that refuse a wrong password, and (for
PostgreSQL) any connection without TLS; a URL that drops the CA, or names
another one, must fail, which shows the options reach the TLS handshake.
"""

from __future__ import annotations

import ssl

import pytest
from langgraph.store.base import Item

from domain.errors import ServiceUnavailableError
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient
from infra.stores.queued import QueuedStore
from tests.checkpointer_support import chat_graph, chat_turn, open_saver
from tests.secure_servers import PG_PASSWORD, REDIS_PASSWORD, SecureServers
from tests.support import unique_name
from worker.settings import arq_pool

pytestmark = pytest.mark.slow


async def test_the_redis_client_reaches_a_tls_redis_with_a_password(secure: SecureServers) -> None:
    async with RedisClient.from_url(secure.redis_tls_url) as client:
        health = await client.health()
        assert health.ok, health.error
        assert "***" in client.safe_url
        assert REDIS_PASSWORD not in client.safe_url


async def test_a_tls_redis_url_without_the_ca_fails_verification(secure: SecureServers) -> None:
    async with RedisClient.from_url(secure.redis_url(ssl_check_hostname="true")) as client:
        with pytest.raises(ServiceUnavailableError) as caught:
            await client.ping()
    assert "certificate verify failed" in str(caught.value)


async def test_a_wrong_redis_password_is_refused_and_not_shown(secure: SecureServers) -> None:
    url = secure.redis_plain_url.replace("r3d", "wrong", 1)
    async with RedisClient.from_url(url) as client:
        with pytest.raises(ServiceUnavailableError) as caught:
            await client.ping()
    assert "wrong" not in str(caught.value)
    assert REDIS_PASSWORD not in str(caught.value)


async def test_the_checkpointer_connection_speaks_tls_with_a_password(
    secure: SecureServers,
) -> None:
    # The checkpointer opens its own multiplexed connection from the parsed URL.
    async with open_saver(secure.redis_tls_url) as saver:
        graph = chat_graph(saver)
        await chat_turn(graph, "t1", "hello")
        state = await chat_turn(graph, "t1", "again")
    assert [m.content for m in state["messages"]][-1] == "seen 3"


async def test_the_workers_arq_pool_speaks_tls_with_a_password(secure: SecureServers) -> None:
    pool = arq_pool(secure.redis_tls_url, unique_name("chatmem:tls"))
    try:
        assert await pool.ping()
    finally:
        await pool.aclose()


async def test_postgres_client_connects_with_verify_full_over_tls(secure: SecureServers) -> None:
    client = await PostgresClient.connect(secure.postgres_url)
    async with client, client.pool.acquire() as conn:
        encrypted = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert encrypted is True


async def test_a_dsn_naming_another_ca_fails_verification(secure: SecureServers) -> None:
    dsn = secure.postgres_dsn(sslmode="verify-full", sslrootcert=str(secure.certs.other_ca))
    with pytest.raises(ServiceUnavailableError) as caught:
        await PostgresClient.connect(dsn)
    assert "certificate verify failed" in str(caught.value)
    assert isinstance(caught.value.__context__, ssl.SSLCertVerificationError)


async def test_the_server_refuses_a_dsn_without_tls(secure: SecureServers) -> None:
    with pytest.raises(ServiceUnavailableError) as caught:
        await PostgresClient.connect(secure.postgres_dsn(sslmode="disable"))
    assert "no encryption" in str(caught.value)
    assert PG_PASSWORD not in str(caught.value)


async def test_a_wrong_postgres_password_is_a_clear_error_that_does_not_show_it(
    secure: SecureServers,
) -> None:
    dsn = secure.postgres_url.replace("pg%20p", "not-this%20p", 1)
    with pytest.raises(ServiceUnavailableError) as caught:
        await PostgresClient.connect(dsn)
    assert "password authentication failed" in str(caught.value)
    assert "chatmem:***@127.0.0.1" in str(caught.value)
    assert "not-this" not in str(caught.value)


async def test_the_queued_store_writes_and_reads_over_tls_on_both_servers(
    secure: SecureServers,
) -> None:
    queue = unique_name("chatmem:tls")
    async with QueuedStore.from_url(
        secure.redis_tls_url, secure.postgres_url, queue_name=queue
    ) as store:
        await store.setup()
        namespace = ("tls", unique_name("u"))
        await store.aput(namespace, "k", {"v": 1})
        item = await store.aget(namespace, "k")  # the pending entry, over TLS Redis
        missing = await store.aget(namespace, "other")  # PostgreSQL, over TLS
        found = await store.asearch(namespace)
    assert isinstance(item, Item)
    assert item.value == {"v": 1}
    assert missing is None
    assert [i.key for i in found] == ["k"]
