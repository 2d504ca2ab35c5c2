"""`chatmem demo` as `make demo` runs it: exit 0, every section, nothing left behind."""

from __future__ import annotations

import asyncio
import re
import signal

import pytest
import redis

from tests.e2e.commands import (
    embedded_run_dir,
    fetch_column,
    live_in_session,
    live_mentioning,
    run_command,
    terminate_at,
)

pytestmark = pytest.mark.slow

SECTIONS = (
    "chatmem demo",
    "Conversation",
    "Short-term memory: checkpoints in Redis",
    "Long-term memory: rows in PostgreSQL",
    "Write queue",
    "Done",
)


def assert_the_story_is_told(output: str) -> None:
    for section in SECTIONS:
        assert section in output, section
    # The new thread recalls what the old one learnt, through long-term memory.
    assert "alice · thread alice-friday · shopping assistant (new thread)" in output
    assert "Hello Alice, welcome back!" in output
    assert "For a tablet within your €900 budget" in output
    assert "I remember that your budget is €1,500 and you prefer Zephyr." in output
    assert "bob-1 (cleared)" in output
    assert "after the worker:             0 job(s) queued, 0 write(s) pending" in output
    assert re.search(r"the worker persisted \d+ write\(s\) in \d+ group commit", output)
    assert "worker stopped with SIGTERM (exit status 0)" in output
    assert re.search(r"│ alice-monday +│ alice │ shopping assistant │ 3 +│ 6 +│ 5\d min", output)


def assert_nothing_left(redis_url: str, database_url: str, session: int) -> None:
    schemas = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'chatmem_demo_%'"
    assert asyncio.run(fetch_column(database_url, schemas)) == []
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match="chatmem:demo:*")) == []
    finally:
        client.close()
    assert live_in_session(session) == []


def test_the_demo_on_real_servers_cleans_up_after_itself(
    redis_url: str, postgres_database_url: str
) -> None:
    result, session = run_command(
        "demo", env={"REDIS_URL": redis_url, "DATABASE_URL": postgres_database_url}
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert_the_story_is_told(result.stdout)
    schema = re.search(r"schema +(chatmem_demo_\w+)", result.stdout)
    assert schema is not None
    assert f"dropped schema {schema.group(1)}" in result.stdout
    assert_nothing_left(redis_url, postgres_database_url, session)


def test_the_demo_on_embedded_servers_stops_them() -> None:
    result, session = run_command("demo", "--embedded", env={})
    assert result.returncode == 0, result.stderr + result.stdout
    assert_the_story_is_told(result.stdout)
    assert "embedded servers stopped" in result.stdout
    run_dir = embedded_run_dir(result.stdout)
    assert run_dir is not None
    assert live_mentioning(run_dir) == []
    assert live_in_session(session) == []


def test_sigterm_mid_conversation_on_real_servers_still_cleans_up(
    redis_url: str, postgres_database_url: str
) -> None:
    env = {"REDIS_URL": redis_url, "DATABASE_URL": postgres_database_url}
    status, output, session = terminate_at("demo", env=env, marker="bob · thread bob-1")
    assert status != 0
    assert "Short-term memory" not in output
    assert_nothing_left(redis_url, postgres_database_url, session)


def test_sigterm_mid_conversation_on_embedded_servers_stops_them() -> None:
    status, output, session = terminate_at("demo", "--embedded", env={}, marker="Conversation")
    assert status == -signal.SIGTERM
    run_dir = embedded_run_dir(output)
    assert run_dir is not None
    assert live_mentioning(run_dir) == []
    assert live_in_session(session) == []
