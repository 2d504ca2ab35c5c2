"""`chatmem stats`: queue depth, jobs in progress, pending writes, dead letters, worker health."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson
from rich.console import Console
from rich.table import Table

from infra.redaction import redact_url
from infra.redis_client import RedisClient
from infra.settings import Settings
from infra.stores.keys import QueueKeys
from infra.stores.queue_stats import DEFAULT_SCAN_LIMIT, QueueStats, read_queue_stats
from infra.stores.worker_health import WorkerHealth
from worker.settings import WorkerSettings

HELP = "Show queue depth, jobs in progress, pending writes, dead letters, worker health."
# Exit status of --check when no live worker is seen (a container healthcheck's "unhealthy").
NO_WORKER = 1
_TOP_NAMESPACES = 20


def configure(parser: argparse.ArgumentParser) -> None:
    """--json, --check, --namespaces, --scan-limit."""
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit {NO_WORKER} when no live worker is seen on the queue (a healthcheck)",
    )
    parser.add_argument(
        "--namespaces", action="store_true", help="count pending writes per namespace"
    )
    parser.add_argument(
        "--scan-limit",
        type=_positive,
        default=DEFAULT_SCAN_LIMIT,
        metavar="N",
        help="look at most at N due jobs and N pending namespaces (default %(default)s)",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1; got {text!r}")
    return int(text)


async def collect(settings: Settings, *, scan_limit: int, by_namespace: bool) -> QueueStats:
    """Read the queue's figures from REDIS_URL (never an embedded server: it would be empty)."""
    async with RedisClient.from_url(settings.redis_target) as client:
        return await read_queue_stats(
            client.redis,
            QueueKeys(settings.queue_name),
            health_check_interval=WorkerSettings.health_check_interval,
            scan_limit=scan_limit,
            by_namespace=by_namespace,
            target=client.safe_url,
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the figures; 0 once Redis answered, unless --check finds no live worker."""
    stats = asyncio.run(collect(settings, scan_limit=args.scan_limit, by_namespace=args.namespaces))
    if args.json:
        sys.stdout.write(orjson.dumps(stats.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        # Namespaces are user data: printed as they are, never read as rich markup.
        console = Console(highlight=False, markup=False, emoji=False)
        render(stats, redact_url(settings.redis_target), console)
    if args.check and not stats.worker.seen:
        print(
            f"chatmem stats: no worker seen on {stats.queue}: {stats.worker.reason}",
            file=sys.stderr,
        )
        return NO_WORKER
    return 0


def render(stats: QueueStats, redis_target: str, console: Console) -> None:
    """The figures as a table a person reads."""
    read_at = stats.read_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    table = Table(title=f"queue {stats.queue} on {redis_target}, {read_at}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "jobs queued", f"{stats.queued:,} ({stats.due:,} due, {stats.deferred:,} awaiting a retry)"
    )
    table.add_row("jobs in progress", _bounded(stats.in_progress, stats.in_progress_exact))
    table.add_row("oldest job", _age(stats.oldest_job_age_s))
    table.add_row(
        "pending writes",
        f"{_bounded(stats.pending_entries, stats.pending_exact)} in "
        f"{stats.pending_namespaces:,} namespaces",
    )
    table.add_row("dead letters", f"{stats.dead_letters:,}")
    table.add_row("worker", _worker(stats.worker))
    console.print(table)
    if stats.pending_by_namespace is not None:
        console.print(_namespaces(stats.pending_by_namespace))


def _bounded(count: int, exact: bool) -> str:
    return f"{count:,}" if exact else f"at least {count:,} (scan limit reached)"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "none due"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _worker(health: WorkerHealth) -> str:
    if not health.seen:
        return f"no worker seen ({health.reason})"
    age = "" if health.age_s is None else f" {health.age_s:.0f} s ago"
    return (
        f"seen{age} (at {health.recorded_at}, its clock): {health.jobs_complete:,} complete, "
        f"{health.jobs_failed:,} failed, {health.jobs_retried:,} retried, "
        f"{health.jobs_ongoing:,} running, {health.queued:,} queued"
    )


def _namespaces(counts: dict[str, int]) -> Table:
    table = Table(title="pending writes by namespace")
    table.add_column("namespace")
    table.add_column("writes", justify="right")
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    for name, count in ranked[:_TOP_NAMESPACES]:
        table.add_row(name, f"{count:,}")
    if len(ranked) > _TOP_NAMESPACES:
        table.add_row(f"... {len(ranked) - _TOP_NAMESPACES:,} more (see --json)", "")
    return table
