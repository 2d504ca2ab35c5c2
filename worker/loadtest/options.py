"""The load test's options, checked together: a bad combination is refused before anything runs."""

from __future__ import annotations

import argparse
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Mode = Literal["e2e", "queue"]
DEFAULT_WRITES = 10_000
DEFAULT_SESSIONS = 64
DEFAULT_WORKERS = 1


class OptionsError(ValueError):
    """Options that cannot run together, or a path that cannot be written."""


@dataclass(frozen=True, slots=True)
class LoadTestOptions:
    """What one load test does."""

    writes: int | None = DEFAULT_WRITES
    duration: float | None = None
    rate: float | None = None
    sessions: int = DEFAULT_SESSIONS
    processes: int = 1
    workers: int = DEFAULT_WORKERS
    external_workers: bool = False
    mode: Mode = "e2e"
    report: Path | None = None
    chart: Path | None = None
    keep_data: bool = False
    text_bytes: int = 512
    drain_timeout: float = 120.0
    seed: int = 0
    live: bool = True


def from_args(args: argparse.Namespace) -> LoadTestOptions:
    """The options of a parsed command line, or OptionsError saying what is wrong."""
    writes, duration = args.writes, args.duration
    if writes is None and duration is None:
        writes = DEFAULT_WRITES
    if args.external_workers and args.workers is not None:
        raise OptionsError(
            "--workers starts worker processes, --external-workers uses running ones: "
            "give one or the other"
        )
    if args.external_workers and args.mode == "queue":
        raise OptionsError(
            "--mode queue needs workers that persist nothing, which the load test starts "
            "itself: drop --external-workers"
        )
    if args.processes > args.producers:
        raise OptionsError(
            f"--processes {args.processes} is more than --producers {args.producers}: "
            "each producer process runs at least one session"
        )
    if args.chart is not None and importlib.util.find_spec("matplotlib") is None:
        raise OptionsError("--chart needs matplotlib: pip install 'chatmem[chart]'")
    for flag, path in (("--report", args.report), ("--chart", args.chart)):
        if path is not None:
            _check_writable(flag, path)
    return LoadTestOptions(
        writes=writes,
        duration=duration,
        rate=args.rate,
        sessions=args.producers,
        processes=args.processes,
        workers=DEFAULT_WORKERS if args.workers is None else args.workers,
        external_workers=args.external_workers,
        mode=args.mode,
        report=args.report,
        chart=args.chart,
        keep_data=args.keep_data,
        text_bytes=args.value_bytes,
        drain_timeout=args.drain_timeout,
        seed=args.seed,
        live=not args.no_live,
    )


def _check_writable(flag: str, path: Path) -> None:
    if path.is_dir():
        raise OptionsError(f"{flag} {path}: is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise OptionsError(f"{flag} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OptionsError(f"{flag} {path}: cannot write in {parent}")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0; got {text!r}")
    return value
