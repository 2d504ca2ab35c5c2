"""chatmem's processes on password-protected TLS servers: they work, and never show a password."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from infra.stores.queued import QueuedStore
from tests.e2e.test_cli import chatmem
from tests.e2e.test_metrics import metrics_port, scrape
from tests.e2e.workers import WORKER_COMMAND, start_worker
from tests.secure_servers import PG_PASSWORD, REDIS_PASSWORD, SecureServers
from tests.support import unique_name

pytestmark = pytest.mark.slow
WRITES = 200
WRONG_REDIS_PASSWORD = "wr0ng-redis-secret"
WRONG_PG_PASSWORD = "wr0ng-pg-secret"


def assert_no_password(text: str) -> None:
    """Neither password, as written or as escaped in a URL, appears in ``text``."""
    for password in (REDIS_PASSWORD, PG_PASSWORD, WRONG_REDIS_PASSWORD, WRONG_PG_PASSWORD):
        for form in (password, quote(password, safe="")):
            assert form not in text, f"{form!r} leaked"


async def _wait_persisted(database_url: str, count: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + 30
        while await conn.fetchval("SELECT count(*) FROM chatmem_store") < count:
            assert time.monotonic() < deadline, "writes not persisted in time"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_a_worker_on_tls_servers_with_passwords_persists_and_shows_no_password(
    secure: SecureServers, tmp_path: Path
) -> None:
    env = {
        "REDIS_URL": secure.redis_tls_url,
        "DATABASE_URL": secure.postgres_url,
        "QUEUE_NAME": unique_name("chatmem:secret"),
        "LOG_LEVEL": "DEBUG",  # arq's, asyncpg's and redis-py's lines too
    }
    command = (*WORKER_COMMAND, "--metrics-port", "0")
    worker = start_worker(env, tmp_path / "worker.log", command=command)
    try:
        async with QueuedStore.from_url(
            env["REDIS_URL"], env["DATABASE_URL"], queue_name=env["QUEUE_NAME"]
        ) as store:
            await asyncio.gather(*(store.aput(("s",), f"k{i}", {"i": i}) for i in range(WRITES)))
        await _wait_persisted(env["DATABASE_URL"], WRITES)
        runs = [
            chatmem("stats", env=env),
            chatmem("stats", "--json", "--check", "--namespaces", env=env),
            chatmem("doctor", env=env),
            chatmem("migrate", env=env),
        ]
        metrics = await asyncio.to_thread(scrape, metrics_port(worker))
        assert worker.stop() == 0
    finally:
        if worker.process.poll() is None:
            worker.stop(signal.SIGKILL)

    assert [run.returncode for run in runs] == [0, 0, 0, 0], [run.stderr for run in runs]
    outputs = [worker.log, repr(metrics)] + [run.stdout + run.stderr for run in runs]
    assert_no_password("\n".join(outputs))
    # What the operator sees instead: the URLs with the password hidden.
    assert "rediss://:***@127.0.0.1" in worker.log
    assert "postgresql://chatmem:***@127.0.0.1" in worker.log
    assert "rediss://:***@127.0.0.1" in runs[0].stdout


def test_wrong_passwords_stop_each_command_with_a_message_that_shows_none(
    secure: SecureServers,
) -> None:
    bad_redis = secure.redis_tls_url.replace(quote(REDIS_PASSWORD, safe=""), WRONG_REDIS_PASSWORD)
    bad_pg = secure.postgres_url.replace(quote(PG_PASSWORD, safe=""), WRONG_PG_PASSWORD)
    good = {"REDIS_URL": secure.redis_tls_url, "DATABASE_URL": secure.postgres_url}
    runs = {
        "worker, Redis": chatmem("worker", env={**good, "REDIS_URL": bad_redis}),
        "worker, PostgreSQL": chatmem("worker", env={**good, "DATABASE_URL": bad_pg}),
        "stats": chatmem("stats", env={"REDIS_URL": bad_redis}),
        "migrate": chatmem("migrate", env={"DATABASE_URL": bad_pg}),
    }
    for name, run in runs.items():
        assert run.returncode == 1, (name, run.stdout, run.stderr)
        assert "unavailable" in run.stderr, name
        assert_no_password(run.stdout + run.stderr)
