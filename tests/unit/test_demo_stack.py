"""The demo's names and URLs: its data never mixes with real data."""

from __future__ import annotations

import re

from infra.checkpointers import DEFAULT_KEY_PREFIX
from infra.settings import Settings
from worker.demo_script import SCRIPT, Clear, Say, threads
from worker.stack import Names, with_search_path


def test_every_redis_key_of_a_demo_run_is_under_its_own_scope() -> None:
    first, second = Names.for_demo(), Names.for_demo()
    assert first.scope is not None
    assert first.key_prefix.startswith(first.scope)
    assert first.queue_name.startswith(first.scope)
    assert first.scope != second.scope
    assert first.schema is not None
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", first.schema)
    assert first.schema != second.schema


def test_the_chat_uses_the_names_real_services_use() -> None:
    names = Names.from_settings(Settings(queue_name="tenant:queue"))
    assert (names.key_prefix, names.queue_name, names.schema, names.scope) == (
        DEFAULT_KEY_PREFIX,
        "tenant:queue",
        None,
        None,
    )


def test_the_search_path_is_set_and_other_options_kept() -> None:
    assert with_search_path("postgresql://u@h/db", "s1") == "postgresql://u@h/db?search_path=s1"
    socket = "postgresql://postgres:@/postgres?host=/tmp/run/pgdata&search_path=old"
    assert with_search_path(socket, "s2") == (
        "postgresql://postgres:@/postgres?host=%2Ftmp%2Frun%2Fpgdata&search_path=s2"
    )


def test_the_script_has_several_customers_threads_and_a_thread_that_recalls() -> None:
    users = {step.user for step in SCRIPT}
    assert len(users) >= 3
    alice_threads = [t for t, user, _ in threads() if user == "alice"]
    assert len(alice_threads) == 2
    assert any(isinstance(step, Clear) for step in SCRIPT)
    assert {step.assistant for step in SCRIPT if isinstance(step, Say)} == {"shopping", "bi"}
