"""`chatmem loadtest`: bad options are refused with a clear message before anything runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from worker.cli import main


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        status = main(["loadtest", *argv])
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code  # type: ignore[assignment]
    assert status == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "--rate: expected a number above 0; got '0'"),
        (["--rate", "fast"], "--rate: expected a number; got 'fast'"),
        (["--writes", "-3"], "--writes: expected a whole number of at least 1"),
        (["--duration", "inf"], "--duration: expected a number above 0"),
        (["--producers", "2.5"], "--producers: expected a whole number; got '2.5'"),
        (["--mode", "fast"], "--mode: invalid choice: 'fast'"),
        (["--workers", "2", "--external-workers"], "give one or the other"),
        (["--mode", "queue", "--external-workers"], "drop --external-workers"),
        (["--processes", "4", "--producers", "2"], "each producer process runs at least one"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _refused(argv, capsys)


def test_a_report_path_in_a_missing_directory_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "out.json"
    err = _refused(["--report", str(target)], capsys)
    assert f"the directory {target.parent} does not exist" in err


def test_a_directory_as_chart_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "is a directory; give a file name" in _refused(["--chart", str(tmp_path)], capsys)


def test_chart_without_matplotlib_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec

    def without_matplotlib(name: str, *args: object) -> object:
        return None if name == "matplotlib" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_matplotlib)
    err = _refused(["--chart", str(tmp_path / "c.png")], capsys)
    assert "pip install 'chatmem[chart]'" in err
