"""The chatmem command as a user runs it: a separate process, configured by the environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from infra.migrations import MIGRATIONS
from infra.services import Endpoints

ROOT = Path(__file__).resolve().parents[2]


def chatmem(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_help_lists_the_subcommands() -> None:
    result = chatmem("--help")
    assert result.returncode == 0
    for name in ("worker", "demo", "loadtest", "migrate", "dlq", "stats", "doctor"):
        assert name in result.stdout


def test_migrate_applies_then_reports_up_to_date(database_url: str) -> None:
    first = chatmem("migrate", env={"DATABASE_URL": database_url})
    assert first.returncode == 0, first.stderr
    assert f"applied migrations {', '.join(str(i + 1) for i in range(len(MIGRATIONS)))}" in (
        first.stdout
    )
    second = chatmem("migrate", env={"DATABASE_URL": database_url})
    assert second.returncode == 0
    assert "up to date" in second.stdout


def test_two_migrate_processes_at_once_apply_each_version_once(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "worker", "migrate"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum("applied migrations" in out for out, _ in outputs) == 1
    assert asyncio.run(_count_migrations(database_url)) == len(MIGRATIONS)


async def _count_migrations(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM chatmem_migrations"))
    finally:
        await conn.close()


def test_doctor_reports_both_services_and_their_versions(services: Endpoints) -> None:
    result = chatmem(
        "doctor", env={"REDIS_URL": services.redis_url, "DATABASE_URL": services.database_url}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "uses REDIS_URL" in result.stdout
    assert "uses DATABASE_URL (postgresql " in result.stdout


def test_doctor_fails_on_a_set_but_unreachable_url_without_leaking_the_password() -> None:
    result = chatmem("doctor", env={"REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"})
    assert result.returncode == 1
    assert "REDIS_URL is set but Redis does not answer" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
