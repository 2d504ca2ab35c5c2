"""Schema migrations: an ordered list, applied once each, safe when processes race.

The list index is the version (migration 0 is version 1). Never edit a
migration that has shipped; append a new one.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import asyncpg

from infra.logs import get_logger
from infra.postgres_client import Connection

log = get_logger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: long-term store. The namespace is its labels joined by '.', which no label
    # may contain; the "C" collation lets a prefix search be an index range scan.
    # value NULL is a tombstone: it keeps the version of a delete so that a late,
    # older put cannot bring the item back. version orders writes of one key.
    """
    CREATE TABLE chatmem_store (
        namespace   text COLLATE "C" NOT NULL,
        key         text NOT NULL,
        value       jsonb,
        version     bigint NOT NULL,
        created_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL,
        expires_at  timestamptz,
        ttl_minutes double precision,
        PRIMARY KEY (namespace, key)
    );
    CREATE INDEX chatmem_store_expires_at_idx
        ON chatmem_store (expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX chatmem_store_tombstone_idx
        ON chatmem_store (updated_at) WHERE value IS NULL;
    """,
)

_VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS chatmem_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def _lock_key(schema: str) -> int:
    # One advisory lock per schema: two processes migrating the same schema
    # serialise, different schemas (one per test) do not wait on each other.
    return zlib.crc32(f"chatmem-migrate:{schema}".encode()) - 2**31


async def current_version(conn: Connection) -> int:
    """The highest applied version in the current schema, 0 when none."""
    exists = await conn.fetchval("SELECT to_regclass('chatmem_migrations') IS NOT NULL")
    if not exists:
        return 0
    version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM chatmem_migrations")
    return int(version)


async def apply_migrations(conn: Connection, migrations: Sequence[str] = MIGRATIONS) -> list[int]:
    """Apply the missing migrations in order, in one transaction; return their versions."""
    schema = await conn.fetchval("SELECT current_schema()")
    if schema is None:
        raise RuntimeError("no schema on the search_path exists; create it first")
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(schema))
        await conn.execute(_VERSIONS_TABLE)
        done = await current_version(conn)
        applied: list[int] = []
        for version, statement in enumerate(migrations, start=1):
            if version <= done:
                continue
            await conn.execute(statement)
            await conn.execute("INSERT INTO chatmem_migrations (version) VALUES ($1)", version)
            applied.append(version)
    if applied:
        log.info("migrations_applied", schema=schema, versions=applied)
    return applied


async def migrate(pool: asyncpg.Pool) -> list[int]:
    """apply_migrations on a connection from ``pool``."""
    async with pool.acquire() as conn:
        return await apply_migrations(conn)
