from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from domain.models import StoreWrite
from infra.migrations import apply_migrations
from infra.postgres_client import init_connection
from infra.stores.writes import newest_per_key, upsert_newer

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def put(key: str, version: int, value: dict[str, Any] | None = None, **kw: Any) -> StoreWrite:
    return StoreWrite(
        op="put",
        namespace=kw.pop("namespace", ("users", "u1")),
        key=key,
        value={"v": version} if value is None else value,
        ttl_minutes=kw.pop("ttl_minutes", None),
        version=version,
        written_at=kw.pop("written_at", T0 + timedelta(seconds=version)),
    )


def delete(key: str, version: int) -> StoreWrite:
    return StoreWrite("delete", ("users", "u1"), key, None, None, version, T0)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await init_connection(connection)
    await apply_migrations(connection)
    yield connection
    await connection.close()


async def _row(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM chatmem_store WHERE key = $1", key)


async def test_late_retry_does_not_overwrite_newer_value(conn: asyncpg.Connection) -> None:
    assert await upsert_newer(conn, [put("k", 2)]) == 1
    assert await upsert_newer(conn, [put("k", 1)]) == 0
    row = await _row(conn, "k")
    assert row is not None
    assert row["value"] == {"v": 2}
    assert row["version"] == 2


async def test_same_write_twice_changes_nothing(conn: asyncpg.Connection) -> None:
    assert await upsert_newer(conn, [put("k", 5)]) == 1
    assert await upsert_newer(conn, [put("k", 5, {"v": "different"})]) == 0
    row = await _row(conn, "k")
    assert row is not None
    assert row["value"] == {"v": 5}


async def test_late_put_does_not_resurrect_a_delete(conn: asyncpg.Connection) -> None:
    await upsert_newer(conn, [put("k", 1)])
    await upsert_newer(conn, [delete("k", 3)])
    assert await upsert_newer(conn, [put("k", 2)]) == 0
    row = await _row(conn, "k")
    assert row is not None
    assert row["value"] is None
    assert row["version"] == 3


async def test_created_at_survives_update_and_restarts_after_delete(
    conn: asyncpg.Connection,
) -> None:
    await upsert_newer(conn, [put("k", 1)])
    await upsert_newer(conn, [put("k", 2)])
    row = await _row(conn, "k")
    assert row is not None
    assert row["created_at"] == T0 + timedelta(seconds=1)
    assert row["updated_at"] == T0 + timedelta(seconds=2)
    await upsert_newer(conn, [delete("k", 3)])
    await upsert_newer(conn, [put("k", 4)])
    row = await _row(conn, "k")
    assert row is not None
    assert row["created_at"] == T0 + timedelta(seconds=4)


async def test_ttl_sets_expiry_from_the_write_time(conn: asyncpg.Connection) -> None:
    await upsert_newer(conn, [put("k", 1, ttl_minutes=30)])
    row = await _row(conn, "k")
    assert row is not None
    assert row["expires_at"] == T0 + timedelta(seconds=1, minutes=30)
    assert row["ttl_minutes"] == 30


async def test_one_batch_keeps_the_highest_version_of_each_key(
    conn: asyncpg.Connection,
) -> None:
    writes = [put("a", 3), put("a", 9), put("a", 4), put("b", 1), delete("b", 2)]
    assert [(w.key, w.version) for w in newest_per_key(writes)] == [("a", 9), ("b", 2)]
    assert await upsert_newer(conn, writes) == 2
    a, b = await _row(conn, "a"), await _row(conn, "b")
    assert a is not None
    assert b is not None
    assert a["value"] == {"v": 9}
    assert b["value"] is None


async def test_namespaces_are_stored_as_dotted_labels(conn: asyncpg.Connection) -> None:
    await upsert_newer(conn, [put("k", 1, namespace=("users", "ü ser", "facts"))])
    row = await _row(conn, "k")
    assert row is not None
    assert row["namespace"] == "users.ü ser.facts"
