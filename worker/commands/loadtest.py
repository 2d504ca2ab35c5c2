"""`chatmem loadtest`: load-test the write queue with simulated chat sessions."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from rich.console import Console

from infra.settings import Settings
from worker.loadtest.live import LiveView
from worker.loadtest.options import (
    DEFAULT_SESSIONS,
    DEFAULT_WORKERS,
    LoadTestOptions,
    OptionsError,
    from_args,
    positive_float,
    positive_int,
)
from worker.loadtest.report import Report
from worker.loadtest.runner import run_loadtest

HELP = "Load-test the write queue with simulated chat sessions."


def configure(parser: argparse.ArgumentParser) -> None:
    """The load test's options."""
    amount = parser.add_argument_group("how much")
    amount.add_argument("--writes", type=positive_int, help="writes in all (default 10000)")
    amount.add_argument(
        "--duration", type=positive_float, metavar="SECONDS", help="stop starting writes after this"
    )
    amount.add_argument(
        "--rate",
        type=positive_float,
        metavar="WRITES_PER_S",
        help="open-loop schedule of this many writes per second (default: as fast as possible)",
    )
    who = parser.add_argument_group("who writes, who persists")
    who.add_argument(
        "--producers",
        type=positive_int,
        default=DEFAULT_SESSIONS,
        metavar="N",
        help=f"simulated chat sessions (default {DEFAULT_SESSIONS})",
    )
    who.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        metavar="N",
        help="producer processes the sessions are spread over (default 1)",
    )
    who.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help=f"worker processes the load test starts (default {DEFAULT_WORKERS})",
    )
    who.add_argument(
        "--external-workers",
        action="store_true",
        help="use the workers already running on QUEUE_NAME (REDIS_URL, DATABASE_URL) instead",
    )
    who.add_argument(
        "--mode",
        choices=("e2e", "queue"),
        default="e2e",
        help="e2e: through PostgreSQL (default); queue: workers that persist nothing",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--report", type=Path, metavar="PATH", help="write the report as JSON")
    out.add_argument("--chart", type=Path, metavar="PATH", help="draw a PNG chart (matplotlib)")
    out.add_argument("--no-live", action="store_true", help="no live progress, only the result")
    more = parser.add_argument_group("more")
    more.add_argument(
        "--value-bytes",
        type=positive_int,
        default=512,
        metavar="N",
        help="about how large a turn record is (default 512)",
    )
    more.add_argument(
        "--drain-timeout",
        type=positive_float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for the queue to drain after the last write (default 120)",
    )
    more.add_argument("--keep-data", action="store_true", help="leave the run's rows in PostgreSQL")
    more.add_argument("--seed", type=int, default=0, help="seed of the simulated conversations")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the load test; 0 when no write was lost or failed, 1 otherwise, 2 for bad options."""
    try:
        options = from_args(args)
    except OptionsError as exc:
        print(f"chatmem loadtest: {exc}", file=sys.stderr)
        return 2
    console = Console()
    report = asyncio.run(_run(options, settings, console))
    console.print(report.table())
    if options.report is not None:
        options.report.write_bytes(report.to_json())
    if options.chart is not None:
        from worker.loadtest.chart import draw_chart

        draw_chart(report.points, options.chart, f"chatmem loadtest ({options.mode})")
    if not report.ok and report.data["worker_logs"]:
        print(f"worker logs kept in {report.data['worker_logs']}", file=sys.stderr)
    return 0 if report.ok else 1


async def _run(options: LoadTestOptions, settings: Settings, console: Console) -> Report:
    if not (options.live and console.is_terminal):
        return await run_loadtest(options, settings)
    with LiveView(console, options.writes) as view:
        return await run_loadtest(options, settings, on_tick=view.update)
