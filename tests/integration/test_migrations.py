from __future__ import annotations

import asyncio

import asyncpg

from infra.migrations import MIGRATIONS, apply_migrations, current_version


async def test_migrations_apply_once_in_order(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await current_version(conn) == 0
        assert await apply_migrations(conn) == list(range(1, len(MIGRATIONS) + 1))
        assert await apply_migrations(conn) == []
        assert await current_version(conn) == len(MIGRATIONS)
        assert await conn.fetchval("SELECT to_regclass('chatmem_store') IS NOT NULL")
    finally:
        await conn.close()


async def test_a_new_migration_is_applied_after_the_shipped_ones(database_url: str) -> None:
    extra = (*MIGRATIONS, "CREATE TABLE chatmem_extra (id int)")
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn)
        assert await apply_migrations(conn, extra) == [len(extra)]
        assert await conn.fetchval("SELECT to_regclass('chatmem_extra') IS NOT NULL")
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_each_version_once(database_url: str) -> None:
    conns = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == list(range(1, len(MIGRATIONS) + 1))
        rows = await conns[0].fetchval("SELECT count(*) FROM chatmem_migrations")
        assert rows == len(MIGRATIONS)
    finally:
        for c in conns:
            await c.close()


async def test_migrations_stay_in_their_schema(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn)
        schema = await conn.fetchval(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'chatmem_store'"
            " AND table_schema = current_schema()"
        )
        assert schema == await conn.fetchval("SELECT current_schema()")
        assert schema != "public"
    finally:
        await conn.close()
