"""Versioned writes into chatmem_store: the one rule every writer goes through.

A write lands only where the stored version is older, so a write applied
twice, or an older write arriving after a newer one, changes nothing. Deletes
are tombstones (value NULL) that keep their version, so a late put cannot
resurrect a deleted item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from domain.models import Namespace, StoreWrite
from infra.postgres_client import Connection

# One statement for a whole batch: one JSON array of rows
# [namespace, key, value, version, written_at, expires_at, ttl_minutes] (times
# in microseconds since the epoch; value null: a delete), expanded by
# PostgreSQL. One document costs the client one orjson call, where seven
# typed arrays cost a conversion per field; the server's work is alike.
# created_at survives an update of a live item and restarts after a delete or expiry.
UPSERT_NEWER = """
INSERT INTO chatmem_store AS s
    (namespace, key, value, version, created_at, updated_at, expires_at, ttl_minutes)
SELECT w->>0, w->>1, nullif(w->2, 'null'::jsonb), (w->>3)::int8, t.written_at, t.written_at,
       timestamptz 'epoch' + (w->>5)::int8 * interval '1 microsecond', (w->>6)::float8
FROM jsonb_array_elements($1::text::jsonb) AS w,
     LATERAL (SELECT timestamptz 'epoch' + (w->>4)::int8 * interval '1 microsecond'
              AS written_at) t
ON CONFLICT (namespace, key) DO UPDATE SET
    value = EXCLUDED.value,
    version = EXCLUDED.version,
    created_at = CASE
        WHEN s.value IS NULL OR (s.expires_at IS NOT NULL AND s.expires_at <= now())
        THEN EXCLUDED.created_at ELSE s.created_at END,
    updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at,
    ttl_minutes = EXCLUDED.ttl_minutes
WHERE s.version < EXCLUDED.version
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def namespace_text(namespace: Sequence[str]) -> str:
    """A namespace as stored: labels joined by '.', which no valid label contains."""
    return ".".join(namespace)


def newest_per_key(writes: Iterable[StoreWrite]) -> list[StoreWrite]:
    """One write per (namespace, key), the highest version, in (namespace, key) order.

    A fixed order makes concurrent committers lock rows in the same order, so
    they wait for each other instead of deadlocking.
    """
    newest: dict[tuple[str, str], StoreWrite] = {}
    for write in writes:
        ident = (namespace_text(write.namespace), write.key)
        kept = newest.get(ident)
        if kept is None or write.version > kept.version:
            newest[ident] = write
    return [newest[ident] for ident in sorted(newest)]


def upsert_document(writes: Sequence[StoreWrite]) -> str:
    """The JSON argument of UPSERT_NEWER for ``writes`` (already deduplicated)."""
    rows: list[list[object]] = []
    for w in writes:
        expires: int | None = None
        ttl = w.ttl_minutes if w.value is not None else None
        if ttl is not None:
            # Computed here, not in SQL: an expiry no datetime can hold (past
            # year 9999) raises OverflowError, a write refused for good.
            expires = (w.written_at + timedelta(minutes=ttl) - _EPOCH) // _MICROSECOND
        written = (w.written_at - _EPOCH) // _MICROSECOND
        rows.append([namespace_text(w.namespace), w.key, w.value, w.version, written, expires, ttl])
    return orjson.dumps(rows).decode()


async def upsert_newer(conn: Connection, writes: Iterable[StoreWrite]) -> int:
    """Apply ``writes`` in one statement; returns how many rows it changed."""
    batch = newest_per_key(writes)
    if not batch:
        return 0
    status = await conn.execute(UPSERT_NEWER, upsert_document(batch))
    # "INSERT 0 <n>": rows inserted or updated; superseded writes are not counted.
    return int(status.rsplit(" ", 1)[1])


@dataclass(frozen=True, slots=True)
class DirectWrite:
    """A put (``value``: encoded JSON) or delete (``value`` None) that this process applies now."""

    namespace: Namespace
    key: str
    value: bytes | None
    ttl_minutes: float | None


# A direct write supersedes whatever is stored: its version is the stored one
# plus one, or PostgreSQL's clock in microseconds since the epoch when that is
# higher, which keeps it comparable with queued writes (versioned by the Redis
# clock at acceptance). Times come from the same clock, so every writer agrees.
# The batch travels as one JSON array of [namespace, key, value, ttl_minutes]
# (value null: delete): cheaper for the client than four arrays, same for the server.
UPSERT_DIRECT = """
INSERT INTO chatmem_store AS s
    (namespace, key, value, version, created_at, updated_at, expires_at, ttl_minutes)
SELECT w->>0, w->>1, nullif(w->2, 'null'::jsonb), c.version, c.at, c.at,
       c.at + make_interval(secs => (w->>3)::float8 * 60), (w->>3)::float8
FROM jsonb_array_elements($1::text::jsonb) AS w,
     (SELECT statement_timestamp() AS at,
             (extract(epoch FROM statement_timestamp()) * 1000000)::int8 AS version) c
ON CONFLICT (namespace, key) DO UPDATE SET
    value = EXCLUDED.value,
    version = greatest(s.version + 1, EXCLUDED.version),
    created_at = CASE
        WHEN s.value IS NULL OR (s.expires_at IS NOT NULL AND s.expires_at <= EXCLUDED.updated_at)
        THEN EXCLUDED.created_at ELSE s.created_at END,
    updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at,
    ttl_minutes = EXCLUDED.ttl_minutes
"""

# Encoded JSON per statement, well below jsonb's 255 MB; a larger group takes
# several statements in one transaction.
DIRECT_STATEMENT_BYTES = 16 * 1024 * 1024


def last_per_key(writes: Iterable[DirectWrite]) -> list[DirectWrite]:
    """One write per (namespace, key), the last one given, in (namespace, key) order.

    The fixed order keeps concurrent statements from deadlocking (see newest_per_key).
    """
    last = {(namespace_text(w.namespace), w.key): w for w in writes}
    return [last[ident] for ident in sorted(last)]


def direct_documents(writes: Sequence[DirectWrite]) -> list[str]:
    """The JSON arguments of UPSERT_DIRECT for ``writes``, split by DIRECT_STATEMENT_BYTES."""
    documents: list[str] = []
    rows: list[object] = []
    size = 0
    for w in writes:
        if rows and size + len(w.value or b"") > DIRECT_STATEMENT_BYTES:
            documents.append(orjson.dumps(rows).decode())
            rows, size = [], 0
        value = None if w.value is None else orjson.Fragment(w.value)
        ttl = None if value is None else w.ttl_minutes
        rows.append([namespace_text(w.namespace), w.key, value, ttl])
        size += len(w.value or b"") + len(w.key)
    if rows:
        documents.append(orjson.dumps(rows).decode())
    return documents


async def upsert_direct(conn: Connection, writes: Iterable[DirectWrite]) -> None:
    """Apply ``writes`` at once, each superseding what is stored (deletes: tombstones)."""
    documents = direct_documents(last_per_key(writes))
    if len(documents) == 1:
        await conn.execute(UPSERT_DIRECT, documents[0])
    elif documents:
        async with conn.transaction():
            for document in documents:
                await conn.execute(UPSERT_DIRECT, document)
