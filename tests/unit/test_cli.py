from __future__ import annotations

import pytest

from worker.cli import COMMANDS, build_parser, main

EXPECTED = {"worker", "demo", "loadtest", "migrate", "dlq", "stats", "doctor"}


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for name in EXPECTED:
        assert f"\n    {name} " in out, name
    assert set(COMMANDS) >= EXPECTED


def test_bad_setting_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHECKPOINT_TTL_MINUTES", "later")
    assert main(["doctor"]) == 2
    assert "CHECKPOINT_TTL_MINUTES" in capsys.readouterr().err
