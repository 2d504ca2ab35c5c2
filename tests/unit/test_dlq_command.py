"""`chatmem dlq`: its arguments, and text from Redis made safe for a terminal."""

from __future__ import annotations

import pytest

from worker.cli import build_parser
from worker.commands.dlq import _clean


@pytest.mark.parametrize(
    "argv",
    [
        ["dlq"],
        ["dlq", "replay"],
        ["dlq", "purge", "--yes"],
        ["dlq", "replay", "--all", "--id", "1-0"],
        ["dlq", "list", "--limit", "0"],
    ],
)
def test_an_incomplete_or_contradictory_command_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2


def test_ids_are_collected_and_purge_waits_for_a_confirmation() -> None:
    args = build_parser().parse_args(["dlq", "purge", "--id", "1-0", "--id", "2-0"])
    assert (args.ids, args.all, args.yes) == (["1-0", "2-0"], False, False)


def test_control_characters_from_keys_cannot_drive_the_terminal() -> None:
    hostile = "key\x1b[2J\x1b]0;owned\x07\nnext"
    assert _clean(hostile, 100) == "key\\x1b[2J\\x1b]0;owned\\x07\\nnext"
    assert _clean("x" * 50, 10) == "x" * 9 + "…"
