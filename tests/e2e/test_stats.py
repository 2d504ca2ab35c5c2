"""`chatmem stats` as an operator or a container healthcheck runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_put
from tests.e2e.conftest import StartWorker
from tests.e2e.test_cli import chatmem
from tests.queue_state import seed_queue_state


@pytest.fixture
async def redis(worker_env: dict[str, str]) -> AsyncIterator[RedisClient]:
    client = RedisClient.from_url(worker_env["REDIS_URL"])
    yield client
    await client.aclose()


async def test_json_reports_the_figures_of_the_queue_state(
    redis: RedisClient, worker_env: dict[str, str]
) -> None:
    await seed_queue_state(redis, QueueKeys(worker_env["QUEUE_NAME"]))

    result = chatmem("stats", "--json", "--namespaces", env=worker_env)

    assert result.returncode == 0, result.stderr
    figures = orjson.loads(result.stdout)
    assert figures["schema"] == 1
    assert figures["queue"] == worker_env["QUEUE_NAME"]
    jobs = figures["jobs"]
    assert (jobs["queued"], jobs["due"], jobs["deferred"], jobs["in_progress"]) == (7, 6, 1, 2)
    assert 59 <= jobs["oldest_age_s"] <= 90
    assert figures["pending"]["entries"] == 7
    assert figures["pending"]["by_namespace"] == {"notes": 1, "users.u1": 5, "users.u2": 1}
    assert figures["dead_letters"] == 1
    assert figures["worker"]["seen"] is True
    assert figures["worker"]["jobs_complete"] == 120


async def test_the_table_shows_the_same_figures_and_namespaces_as_they_are(
    redis: RedisClient, worker_env: dict[str, str]
) -> None:
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    await seed_queue_state(redis, keys)
    producer = WriteProducer(redis, keys)
    await producer.submit(encode_put(("[bold]team", ":smile:"), "k", {}, None))
    await producer.aclose()

    result = chatmem("stats", "--namespaces", env={**worker_env, "COLUMNS": "200"})

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if label in line)

    assert "8 (7 due, 1 awaiting a retry)" in row("jobs queued")
    assert "│ 2 " in row("jobs in progress")
    assert "8 in 4 namespaces" in row("pending writes")
    assert "│ 1 " in row("dead letters")
    assert "120 complete, 2 failed, 3 retried" in row("worker")
    assert row("users.u1").endswith(" 5 │")
    assert row("[bold]team.:smile:").endswith(" 1 │")


@pytest.mark.slow
def test_check_fails_without_a_worker_passes_with_one_and_fails_after_it_stopped(
    worker_env: dict[str, str], workers: StartWorker
) -> None:
    before = chatmem("stats", "--check", env=worker_env)
    assert before.returncode == 1
    assert "no worker seen" in before.stderr

    worker = workers()
    running = chatmem("stats", "--check", "--json", env=worker_env)
    assert running.returncode == 0, running.stderr
    assert orjson.loads(running.stdout)["worker"]["seen"] is True

    assert worker.stop() == 0  # a worker that stops removes arq's health-check key
    after = chatmem("stats", "--check", env=worker_env)
    assert after.returncode == 1


def test_unreachable_redis_exits_1_naming_it_without_the_password() -> None:
    result = chatmem("stats", env={"REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"})
    assert result.returncode == 1
    assert "Redis at redis://:***@127.0.0.1:1/0 is unavailable" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_a_bad_scan_limit_is_refused() -> None:
    result = chatmem("stats", "--scan-limit", "0")
    assert result.returncode == 2
    assert "--scan-limit" in result.stderr
