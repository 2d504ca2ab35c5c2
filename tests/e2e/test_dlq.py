"""Poison writes among good ones: the good ones land, the poison ones wait in the dead letters."""

from __future__ import annotations

import json

import asyncpg
import orjson
import pytest

from infra.stores.jobs import FUNCTION_NAME
from tests.e2e.conftest import StartWorker
from tests.e2e.queue import Queue
from tests.e2e.test_cli import chatmem

pytestmark = pytest.mark.slow
T = 1_700_000_000_000_000


def op(key: str, value: dict[str, object], version: int) -> dict[str, object]:
    return {
        "op": "put", "namespace": ["users", "u1"], "key": key, "value": value, "ttl": None,
        "version": version, "written_at": T,
    }  # fmt: skip


async def sql(database_url: str, statement: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def test_poison_writes_are_dead_lettered_then_replayed_or_purged_from_the_cli(
    queue: Queue, workers: StartWorker, worker_env: dict[str, str]
) -> None:
    workers()
    # A rule the data breaks until an operator lifts it: PostgreSQL refuses the write for good.
    await sql(
        queue.database_url,
        "ALTER TABLE chatmem_store ADD CONSTRAINT no_forbidden CHECK (key <> 'forbidden')",
    )
    ops = [
        op("a", {"v": 1}, T + 1),
        op("nul", {"text": "a\u0000b"}, T + 2),  # jsonb refuses \u0000: never executed
        op("forbidden", {"v": 3}, T + 3),
        op("b", {"v": 4}, T + 4),
    ]
    job = {"t": None, "f": FUNCTION_NAME, "a": [ops], "k": {}, "et": 1}
    await queue.wait_done(await queue.enqueue_raw(orjson.dumps(job)))
    assert await queue.row("a") is not None
    assert await queue.row("b") is not None
    assert await queue.row("forbidden") is None

    env = {"REDIS_URL": worker_env["REDIS_URL"], "QUEUE_NAME": worker_env["QUEUE_NAME"]}
    listed = chatmem("dlq", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["count"] == 2
    by_key = {e["op"]["key"]: e for e in document["entries"]}
    assert by_key["nul"]["kind"] == "invalid"
    assert "NUL" in by_key["nul"]["error"]
    assert by_key["forbidden"]["kind"] == "rejected"
    assert "SQLSTATE 23514" in by_key["forbidden"]["error"]
    text = chatmem("dlq", "list", env=env)
    assert "2 dead letters in" in text.stdout
    assert by_key["forbidden"]["id"] in text.stdout

    refused = chatmem("dlq", "replay", "--id", by_key["nul"]["id"], env=env)
    assert refused.returncode == 1
    assert "not replayed" in refused.stderr

    await sql(queue.database_url, "ALTER TABLE chatmem_store DROP CONSTRAINT no_forbidden")
    replayed = chatmem("dlq", "replay", "--id", by_key["forbidden"]["id"], env=env)
    assert (replayed.returncode, replayed.stdout.strip()) == (0, "replayed 1 dead letter")
    await queue.wait_done(*await queue.job_ids())
    row = await queue.row("forbidden")
    assert row is not None
    assert row["version"] == T + 3  # its own version, not a new one

    unconfirmed = chatmem("dlq", "purge", "--all", env=env)
    assert unconfirmed.returncode == 2
    assert "add --yes" in unconfirmed.stderr
    purged = chatmem("dlq", "purge", "--all", "--yes", env=env)
    assert (purged.returncode, purged.stdout.strip()) == (0, "purged 1 dead letter")
    assert "0 dead letters in" in chatmem("dlq", "list", env=env).stdout
