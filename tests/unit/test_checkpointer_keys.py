"""Key names, hash tags, prefixes, and the config checks that name a thread."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from infra.checkpointers.keys import (
    MISSING_THREAD_MESSAGE,
    KeyLayout,
    check_thread_id,
    configurable,
    thread_of,
)


def test_a_threads_keys_share_its_hash_tag_and_slot() -> None:
    keys = KeyLayout("tenant-a:cp").thread("chat-1")
    assert keys == [f"tenant-a:cp:{{chat-1}}:{s}" for s in "dcwrt"]
    assert {key_slot(k.encode()) for k in keys} == {key_slot(b"chat-1")}
    assert KeyLayout("tenant-a:cp").run("r-1") == "tenant-a:cp:run:{r-1}"


@pytest.mark.parametrize("thread_id", ["plain", "a}b", "x}:c", "*?[]\\", "ünï{code}"])
def test_a_thread_id_comes_back_from_its_key(thread_id: str) -> None:
    layout = KeyLayout("pre*fix")
    assert layout.thread_id_of(layout.thread(thread_id)[1]) == thread_id


def test_the_scan_pattern_escapes_glob_characters_of_the_prefix() -> None:
    assert KeyLayout("a*b?c[d]e\\f").thread_pattern() == "a\\*b\\?c\\[d\\]e\\\\f:{*}:c"


@pytest.mark.parametrize("prefix", ["", "  ", "a{b", "a}b", 5])
def test_a_prefix_that_would_break_the_hash_tag_is_refused(prefix: object) -> None:
    with pytest.raises(ValueError, match="key_prefix"):
        KeyLayout(prefix)  # type: ignore[arg-type]


@pytest.mark.parametrize("config", [None, {}, {"configurable": None}, {"configurable": {}}])
def test_a_config_without_a_thread_gets_langgraphs_words(config: object) -> None:
    with pytest.raises(ValueError, match=MISSING_THREAD_MESSAGE):
        configurable(config)  # type: ignore[arg-type]


def test_thread_of_defaults_the_namespace_and_checks_types() -> None:
    assert thread_of({"configurable": {"thread_id": "t"}}) == ("t", "")
    assert thread_of({"configurable": {"thread_id": "t", "checkpoint_ns": "c:1"}}) == ("t", "c:1")
    with pytest.raises(ValueError, match="checkpoint_ns must be a str"):
        thread_of({"configurable": {"thread_id": "t", "checkpoint_ns": 3}})
    with pytest.raises(ValueError, match="got int 7"):
        check_thread_id(7)
