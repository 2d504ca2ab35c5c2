"""The load test's findings: one JSON document, and the table printed at the end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from rich.table import Table

from infra.redaction import redact_url
from infra.services import Endpoints
from worker.loadtest.check import LossCheck
from worker.loadtest.histogram import Histogram
from worker.loadtest.monitor import Point, timeline_json
from worker.loadtest.options import LoadTestOptions
from worker.loadtest.producer import ProducerResult
from worker.loadtest.sampler import POLL_S
from worker.loadtest.schedule import offered_rate
from worker.loadtest.workers import CommitCounts

LAG_METHOD = (
    "sampled turn records, from the call to aput until a poll of Redis finds their "
    "pending entry gone (the worker removes it only after the commit)"
)


@dataclass
class Measured:
    """Everything a run gathered, before it is summed up."""

    tag: str
    queue_name: str
    endpoints: Endpoints
    results: Sequence[ProducerResult]
    points: Sequence[Point]
    start_wall: float
    produced_wall: float | None
    drained_wall: float | None
    worker_statuses: Sequence[int]
    commit_counts: CommitCounts | None
    transactions: int | None
    loss: LossCheck | None
    worker_logs: Path | None


@dataclass
class Report:
    """The report as JSON-able data, and whether the run passed."""

    data: dict[str, Any]
    points: list[Point]

    @property
    def problems(self) -> list[str]:
        """Why the run failed; empty when it passed."""
        problems: list[str] = self.data["problems"]
        return problems

    @property
    def ok(self) -> bool:
        """No write lost, none failed, everything committed, every worker stopped cleanly."""
        return not self.problems

    def to_json(self) -> bytes:
        """The report as indented JSON."""
        return orjson.dumps(self.data, option=orjson.OPT_INDENT_2)

    def table(self) -> Table:
        """The figures a person reads first, as a rich table."""
        return summary_table(self.data)


def _merged(results: Sequence[ProducerResult], name: str) -> Histogram:
    merged = Histogram()
    for result in results:
        merged.merge(getattr(result, name))
    return merged


def _per(count: float | None, seconds: float | None) -> float | None:
    if count is None or not seconds or seconds <= 0:
        return None
    return round(count / seconds, 1)


def _ratio(part: int | None, whole: int) -> float | None:
    return None if part is None or not whole else round(part / whole, 5)


def build_report(options: LoadTestOptions, m: Measured) -> Report:
    """Sum up a run: figures, their sources, the loss check, and the problems found."""
    acked = sum(r.acked for r in m.results)
    started = sum(r.started for r in m.results)
    jobs = sum(r.jobs for r in m.results)
    errors: dict[str, int] = {}
    for r in m.results:
        for name, n in r.errors.items():
            errors[name] = errors.get(name, 0) + n
    last_ack = max((r.last_ack_wall for r in m.results if r.last_ack_wall), default=None)
    offsets = [r for r in m.results if r.first_offset is not None]
    offered = offered_rate(
        sum(r.slots for r in m.results),
        min((r.first_offset for r in offsets if r.first_offset is not None), default=None),
        max((r.last_offset for r in offsets if r.last_offset is not None), default=None),
    )
    producing_s = None if last_ack is None else last_ack - m.start_wall
    persisting_s = None if m.drained_wall is None else m.drained_wall - m.start_wall
    database = urlsplit(m.endpoints.database_url).path.lstrip("/") or "(default)"
    data: dict[str, Any] = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": options.mode,
        "run_tag": m.tag,
        "queue": m.queue_name,
        "servers": {
            "redis": redact_url(m.endpoints.redis_url),
            "redis_source": m.endpoints.redis_source,
            "postgres": redact_url(m.endpoints.database_url),
            "postgres_source": m.endpoints.postgres_source,
        },
        "options": {
            "writes": options.writes,
            "duration_s": options.duration,
            "rate_per_s": options.rate,
            "producers": options.sessions,
            "processes": options.processes,
            "workers": None if options.external_workers else options.workers,
            "external_workers": options.external_workers,
            "value_bytes": options.text_bytes,
        },
        "writes": {
            "started": started,
            "acknowledged": acked,
            "by_kind": {
                kind: sum(r.by_kind.get(kind, 0) for r in m.results)
                for kind in ("turn", "fact", "delete")
            },
            "errors": sum(errors.values()),
            "errors_by_type": errors,
            "error_examples": [e for r in m.results for e in r.error_examples][:5],
            "jobs": jobs,
            "writes_per_job": None if not jobs else round(acked / jobs, 2),
        },
        "seconds": {
            "producing": None if producing_s is None else round(producing_s, 3),
            "until_persisted": None if persisting_s is None else round(persisting_s, 3),
        },
        "throughput_per_s": {
            "offered": None if offered is None else round(offered, 1),
            "paced": options.rate is not None,
            "achieved": _per(acked, producing_s),
            "persisted": _per(acked, persisting_s),
        },
        "enqueue_latency": _merged(m.results, "enqueue").summary(),
        "end_to_end_lag": {
            **_merged(m.results, "lag").summary(),
            "resolution_ms": POLL_S * 1000,
            "method": LAG_METHOD,
        },
        "behind_schedule": _merged(m.results, "behind").summary(),
        "postgres": _postgres(m, acked, database),
        "loss_check": None if m.loss is None else m.loss.to_json(),
        "lost": None if m.loss is None else m.loss.lost,
        "drained": m.drained_wall is not None,
        "worker_exit_codes": list(m.worker_statuses),
        "worker_logs": None if m.worker_logs is None else str(m.worker_logs),
        "timeline": timeline_json(m.points),
    }
    data["problems"] = _problems(data, m)
    data["ok"] = not data["problems"]
    return Report(data, list(m.points))


def _postgres(m: Measured, acked: int, database: str) -> dict[str, Any]:
    counts = m.commit_counts
    return {
        "transactions": m.transactions,
        "transactions_per_write": _ratio(m.transactions, acked),
        "transactions_source": (
            f"pg_stat_database (xact_commit + xact_rollback) delta of database {database!r}: "
            "every session of that database is counted, workers and anyone else"
            if m.transactions is not None
            else "not measured (--mode queue)"
        ),
        "statements": None if counts is None else counts.statements,
        "statements_per_write": None if counts is None else _ratio(counts.statements, acked),
        "statements_source": (
            "the workers' logs: one store_writes_persisted (or store_commit_split) line per "
            "write statement"
            if counts is not None
            else "not measured (external workers' logs are not ours, or --mode queue)"
        ),
    }


def _problems(data: dict[str, Any], m: Measured) -> list[str]:
    problems = []
    if data["lost"]:
        problems.append(f"{data['lost']} acknowledged writes lost")
    if not data["drained"]:
        problems.append("the queue did not drain within --drain-timeout")
    if data["writes"]["errors"]:
        problems.append(f"{data['writes']['errors']} writes failed at the producer")
    failed = [status for status in m.worker_statuses if status]
    if failed:
        problems.append(f"a worker exited with {failed[0]}")
    return problems


def _ms(summary: dict[str, Any], *names: str) -> str:
    if not summary.get("count"):
        return "-"
    return " / ".join(f"{summary[n]:.2f}" for n in names) + " ms"


def summary_table(data: dict[str, Any]) -> Table:
    """The report's main figures as a two-column table."""
    table = Table(title=f"chatmem loadtest ({data['mode']}, queue {data['queue']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    writes, rates, pg = data["writes"], data["throughput_per_s"], data["postgres"]
    table.add_row("acknowledged / started", f"{writes['acknowledged']:,} / {writes['started']:,}")
    table.add_row("errors", f"{writes['errors']:,}")
    table.add_row("jobs (writes/job)", f"{writes['jobs']:,} ({writes['writes_per_job']})")
    offered = rates["offered"]
    table.add_row(
        "offered writes/s",
        f"{offered:,.1f} (schedule)" if rates["paced"] and offered else "as fast as possible",
    )
    for name in ("achieved", "persisted"):
        value = rates[name]
        table.add_row(f"{name} writes/s", "-" if value is None else f"{value:,.1f}")
    table.add_row(
        "enqueue p50/p95/p99/max",
        _ms(data["enqueue_latency"], "p50_ms", "p95_ms", "p99_ms", "max_ms"),
    )
    lag = data["end_to_end_lag"]
    table.add_row(
        f"e2e lag p50/p95/p99 ({lag['count']} sampled)",
        _ms(lag, "p50_ms", "p95_ms", "p99_ms"),
    )
    if rates["paced"]:
        table.add_row(
            "behind schedule p50/p99/max",
            _ms(data["behind_schedule"], "p50_ms", "p99_ms", "max_ms"),
        )
    for name in ("transactions", "statements"):
        per = pg[f"{name}_per_write"]
        table.add_row(f"PostgreSQL {name}/write", "-" if per is None else f"{per:.4f}")
    check = data["loss_check"]
    if check is None:
        table.add_row("lost writes", "not checked (--mode queue)")
    else:
        table.add_row(
            "lost writes (keys checked)",
            f"{check['lost']} ({check['keys'] - check['unverifiable']:,} keys)",
        )
    table.add_row("result", "OK" if data["ok"] else "FAILED: " + "; ".join(data["problems"]))
    return table
