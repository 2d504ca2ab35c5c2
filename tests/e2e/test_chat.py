"""`chatmem chat`: a blocking REPL over the real stack, fed on its standard input."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.commands import fetch_column, live_in_session, run_command
from tests.support import unique_name

pytestmark = pytest.mark.slow

SESSION = """My budget is 700 and I prefer Zephyr
/thread t2
recommend headphones
/history
/clear
/history
/memory
/assistant bi
units by region
/quit
"""


def test_a_chat_recalls_across_threads_clears_and_persists(
    redis_url: str, database_url: str
) -> None:
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "QUEUE_NAME": unique_name("chatmem:chat"),
    }
    result, session = run_command("chat", "--user", "zed", "--thread", "t1", env=env, stdin=SESSION)
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "Noted: your budget is €700 and you prefer Zephyr." in out
    assert "now zed in thread t2" in out
    # t2 is a new thread, yet the budget and the brand come back from long-term memory.
    assert "For headphones within your €700 budget" in out
    assert "  user: recommend headphones" in out
    assert "thread t2 cleared" in out
    assert "  budget: 700" in out
    assert "2 recorded turns in threads: t1, t2" in out
    assert "Units by region (all regions, all months):" in out
    # The REPL's own worker persisted every turn before it stopped.
    turns = "SELECT key FROM chatmem_store WHERE namespace = 'users.zed.conversations'"
    assert len(asyncio.run(fetch_column(database_url, turns))) == 3
    assert live_in_session(session) == []
