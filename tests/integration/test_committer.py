"""The group committer against real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest

from domain.errors import ServiceUnavailableError
from domain.models import StoreWrite
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_put
from tests.integration.conftest import Drain
from worker.committer import GroupCommitter

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def put(key: str, version: int, namespace: tuple[str, ...] = ("users", "u1")) -> StoreWrite:
    return StoreWrite("put", namespace, key, {"v": version}, None, version, T0)


async def stored(postgres: PostgresClient) -> dict[str, tuple[object, int]]:
    rows = await postgres.pool.fetch("SELECT key, value, version FROM chatmem_store")
    return {row["key"]: (row["value"], row["version"]) for row in rows}


async def test_jobs_in_flight_share_one_statement(
    committer: GroupCommitter, postgres: PostgresClient
) -> None:
    jobs = [[put(f"k{j}-{i}", 1) for i in range(10)] for j in range(8)]
    await asyncio.gather(*(committer.commit(f"job{j}", w) for j, w in enumerate(jobs)))
    assert committer.stats.statements == 1
    assert committer.stats.writes == 80
    assert len(await stored(postgres)) == 80


async def test_the_highest_version_of_a_key_wins_across_jobs(
    committer: GroupCommitter, postgres: PostgresClient
) -> None:
    await asyncio.gather(
        committer.commit("a", [put("k", 5)]),
        committer.commit("b", [put("k", 9)]),
        committer.commit("c", [put("k", 7)]),
    )
    assert (await stored(postgres))["k"] == ({"v": 9}, 9)


async def test_a_commit_clears_only_pending_entries_it_made_durable(
    committer: GroupCommitter, redis: RedisClient, keys: QueueKeys
) -> None:
    producer = WriteProducer(redis, keys)
    await producer.submit(encode_put(("users", "u1"), "old", {"v": 1}, None))
    await producer.submit(encode_put(("users", "u1"), "new", {"v": 1}, None))
    entries = await redis.redis.hgetall(keys.pending_entries("users.u1"))
    old, new = (int(entries[k].split(b" ", 1)[0]) for k in (b"old", b"new"))

    # "new" was written again after the version being committed: it must stay pending.
    await committer.commit("j", [put("old", old), put("new", new - 1)])
    assert await redis.redis.hkeys(keys.pending_entries("users.u1")) == [b"new"]
    assert await redis.redis.zrange(keys.pending_namespaces, 0, -1) == [b"users.u1"]

    await committer.commit("j2", [put("new", new)])
    assert await redis.redis.exists(keys.pending_entries("users.u1")) == 0
    assert await redis.redis.zrange(keys.pending_namespaces, 0, -1) == []


async def test_a_write_postgresql_refuses_is_dead_lettered_and_its_job_still_completes(
    committer: GroupCommitter, postgres: PostgresClient, redis: RedisClient, keys: QueueKeys
) -> None:
    # Valid by the store rules, too large for the primary key's index entry
    # (random, so PostgreSQL cannot compress it below the limit).
    rng = random.Random(5)
    poison = put("".join(chr(rng.randint(0x10000, 0x3FFFF)) for _ in range(1000)), 1)
    good1, bad, good2 = await asyncio.gather(
        committer.commit("good1", [put("a", 1)]),
        committer.commit("bad", [put("b", 1), poison]),
        committer.commit("good2", [put("c", 1)]),
    )
    assert good1 == good2 == []
    [rejected] = bad
    assert rejected.write is poison
    assert "SQLSTATE 54000" in rejected.error
    assert set(await stored(postgres)) == {"a", "b", "c"}
    [(_, fields)] = await redis.redis.xrange(keys.dead_letters)
    assert fields[b"job_id"] == b"bad"
    assert fields[b"kind"] == b"rejected"


async def test_an_expiry_out_of_range_is_refused_for_good_without_sinking_the_group(
    committer: GroupCommitter, postgres: PostgresClient
) -> None:
    far = StoreWrite("put", ("users", "u1"), "far", {}, 1e12, 1, T0)  # about two million years
    good, bad = await asyncio.gather(
        committer.commit("good", [put("a", 1)]),
        committer.commit("bad", [far]),
    )
    assert good == []
    assert [r.write for r in bad] == [far]
    assert bad[0].error.startswith("OverflowError")
    assert set(await stored(postgres)) == {"a"}


async def test_postgresql_away_fails_the_jobs_with_a_clear_error(
    redis: RedisClient, keys: QueueKeys, database_url: str
) -> None:
    postgres = await PostgresClient.connect(database_url, max_size=1)
    committer = GroupCommitter(postgres, redis, keys)
    await postgres.close()
    with pytest.raises(ServiceUnavailableError) as caught:
        await committer.commit("j", [put("k", 1)])
    assert committer.stats.commits == 0
    assert caught.value.service == "PostgreSQL"


async def test_an_in_process_worker_drains_what_the_producer_queued(
    redis: RedisClient, keys: QueueKeys, postgres: PostgresClient, drain: Drain
) -> None:
    producer = WriteProducer(redis, keys)
    await asyncio.gather(
        *(producer.submit(encode_put(("users", "u1"), f"k{i}", {"i": i}, None)) for i in range(50))
    )
    assert await drain(keys) >= 1
    assert len(await stored(postgres)) == 50
    assert await redis.redis.zcard(keys.pending_namespaces) == 0
