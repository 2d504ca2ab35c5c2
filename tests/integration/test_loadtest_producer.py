"""A load-test producer against real Redis and PostgreSQL: its writes, and the loss check."""

from __future__ import annotations

import time

import asyncpg
import orjson

from infra.stores.keys import QueueKeys
from tests.integration.conftest import Drain
from worker.loadtest.handles import Target, open_store
from worker.loadtest.producer import ProducerNode, ProducerSpec, Progress
from worker.loadtest.workload import namespace_prefix, new_run_tag, prefix_range


def _spec(queue: str, **changes: object) -> ProducerSpec:
    fields: dict[str, object] = {
        "tag": new_run_tag(),
        "queue_name": queue,
        "process": 0,
        "processes": 1,
        "sessions": 8,
        "rate": None,
        "writes": 400,
        "duration": None,
        "start_wall": time.time(),
        "text_bytes": 200,
        "seed": 1,
        "settle_timeout": 0.1,
    }
    fields.update(changes)
    return ProducerSpec(**fields)  # type: ignore[arg-type]


async def _rows(database_url: str, tag: str) -> dict[tuple[str, str], object]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT namespace, key, value FROM chatmem_store "
            "WHERE namespace >= $1 AND namespace < $2",
            *prefix_range(namespace_prefix(tag)),
        )
    finally:
        await conn.close()
    return {(r["namespace"], r["key"]): r["value"] for r in rows}


async def _execute(database_url: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def test_the_loss_check_passes_on_what_landed_and_catches_what_was_taken_away(
    redis_url: str, database_url: str, keys: QueueKeys, drain: Drain
) -> None:
    spec = _spec(keys.queue)
    reports: list[Progress] = []
    async with open_store(Target(redis_url, database_url, keys.queue)) as store:
        node = ProducerNode(spec, store)
        result = await node.run(reports.append)
    assert result.acked == result.started == 400
    assert sum(result.by_kind.values()) == 400
    assert result.enqueue.count == 400
    assert reports[-1].acked == 400
    assert await drain(keys) == result.jobs

    check = await node.check(database_url)
    rows = await _rows(database_url, spec.tag)
    assert check.lost == 0
    assert check.keys == check.rows == len(rows) == len(node.expected)
    # The last acknowledged write of every key is what PostgreSQL holds.
    for ident, value in node.expected.items():
        stored = rows[ident]
        assert (orjson.loads(stored) if isinstance(stored, str) else stored) == value

    # Behind the load test's back: a row goes, one holds another value, a deleted one returns.
    turn = next(i for i in node.expected if i[0].endswith(".turns"))
    fact = next(i for i, v in node.expected.items() if i[0].endswith(".facts") and v)
    deleted = next(i for i, v in node.expected.items() if v is None)
    where = "WHERE namespace = $1 AND key = $2"
    await _execute(database_url, f"DELETE FROM chatmem_store {where}", *turn)
    await _execute(database_url, f"UPDATE chatmem_store SET value = '{{}}' {where}", *fact)
    await _execute(
        database_url, f"""UPDATE chatmem_store SET value = '{{"a": 1}}' {where}""", *deleted
    )

    again = await node.check(database_url)
    assert (again.missing, again.stale, again.resurrected) == (1, 1, 1)
    assert again.lost == 3
    assert any(turn[1] in example for example in again.examples)


async def test_a_paced_producer_follows_its_schedule(
    redis_url: str, database_url: str, keys: QueueKeys
) -> None:
    # 200 writes at 1000/s: the schedule, not the system, sets when each is due.
    spec = _spec(keys.queue, rate=1000.0, writes=200, start_wall=time.time() + 0.05)
    async with open_store(Target(redis_url, database_url, keys.queue)) as store:
        result = await ProducerNode(spec, store).run(lambda _: None)
    assert result.slots == 200
    assert result.first_offset == 0.0
    assert result.last_offset == 199 / 1000
    assert result.behind.count == 200
