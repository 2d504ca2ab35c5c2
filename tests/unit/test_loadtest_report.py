"""The load test's figures: merged across producers, with their sources, and what fails a run."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from infra.services import Endpoints
from worker.loadtest.check import LossCheck
from worker.loadtest.histogram import Histogram
from worker.loadtest.live import render
from worker.loadtest.monitor import Point, point, rate
from worker.loadtest.options import LoadTestOptions
from worker.loadtest.producer import ProducerResult, Progress
from worker.loadtest.report import Measured, build_report
from worker.loadtest.workers import CommitCounts, commit_counts

ENDPOINTS = Endpoints(
    "redis://:secret@localhost:6379/3",
    "postgresql://app:secret@db:5432/memory",
    "environment",
    "environment",
)


def _result(acked: int, latencies: list[float], *, first: float, last: float) -> ProducerResult:
    enqueue = Histogram()
    for value in latencies:
        enqueue.record(value)
    return ProducerResult(
        started=acked,
        acked=acked,
        by_kind={"turn": acked, "fact": 0, "delete": 0},
        errors={},
        error_examples=[],
        jobs=acked // 10,
        enqueue=enqueue,
        lag=Histogram(),
        behind=Histogram(),
        slots=acked,
        first_offset=first,
        last_offset=last,
        last_ack_wall=1010.0,
        settled=True,
    )


def _measured(**changes: object) -> Measured:
    fields: dict[str, object] = {
        "tag": "lt1",
        "queue_name": "chatmem:loadtest:lt1",
        "endpoints": ENDPOINTS,
        "results": [
            _result(500, [1.0] * 500, first=0.0, last=9.98),
            _result(500, [3.0] * 500, first=0.01, last=9.99),
        ],
        "points": [],
        "start_wall": 1000.0,
        "produced_wall": 1010.0,
        "drained_wall": 1020.0,
        "worker_statuses": [0],
        "commit_counts": CommitCounts(statements=20, writes=1000),
        "transactions": 25,
        "loss": LossCheck(keys=1000, rows=1000),
        "worker_logs": None,
    }
    fields.update(changes)
    return Measured(**fields)  # type: ignore[arg-type]


def test_figures_are_merged_across_producers_and_name_their_source() -> None:
    report = build_report(LoadTestOptions(writes=1000, rate=100.0), _measured())
    data = report.data
    assert data["writes"]["acknowledged"] == 1000
    assert data["writes"]["writes_per_job"] == 10.0
    assert data["throughput_per_s"] == {
        "offered": 100.0,
        "paced": True,
        "achieved": 100.0,
        "persisted": 50.0,
    }
    # Buckets are 1% wide; the largest value is exact.
    assert data["enqueue_latency"]["p50_ms"] == pytest.approx(1.0, rel=0.01)
    assert data["enqueue_latency"]["p99_ms"] == 3.0
    assert data["postgres"]["transactions_per_write"] == 0.025
    assert data["postgres"]["statements_per_write"] == 0.02
    assert "pg_stat_database" in data["postgres"]["transactions_source"]
    assert "'memory'" in data["postgres"]["transactions_source"]
    assert report.ok
    assert "secret" not in report.to_json().decode()
    assert orjson.loads(report.to_json())["lost"] == 0


def test_a_lost_write_an_error_or_no_drain_fails_the_run() -> None:
    lost = build_report(LoadTestOptions(), _measured(loss=LossCheck(keys=10, missing=1)))
    assert not lost.ok
    assert lost.problems == ["1 acknowledged writes lost"]
    undrained = build_report(LoadTestOptions(), _measured(drained_wall=None))
    assert undrained.problems == ["the queue did not drain within --drain-timeout"]
    assert undrained.data["throughput_per_s"]["persisted"] is None
    crashed = build_report(LoadTestOptions(), _measured(worker_statuses=[0, -9]))
    assert crashed.problems == ["a worker exited with -9"]


def test_queue_mode_reports_no_postgres_figures_and_no_loss_check() -> None:
    report = build_report(
        LoadTestOptions(mode="queue"), _measured(commit_counts=None, transactions=None, loss=None)
    )
    assert report.data["loss_check"] is None
    assert report.data["lost"] is None
    assert report.data["postgres"]["statements_per_write"] is None
    assert report.ok


def test_commit_counts_come_from_the_workers_commit_lines(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    lines = [
        {"event": "worker_started"},
        {"event": "store_writes_persisted", "writes": 40, "jobs": 3},
        {"event": "store_commit_split", "jobs": 2},
        {"event": "store_writes_persisted", "writes": 2, "jobs": 1},
    ]
    log.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines) + b"not json\n")
    assert commit_counts([log]) == CommitCounts(statements=3, writes=42)


def test_live_rates_come_from_the_last_second_of_the_timeline() -> None:
    progress = [Progress(due=0, acked=0)]
    points = [point(0.0, progress, [], 0)]
    points.append(point(0.5, [Progress(due=100, acked=90, committed=50)], [10.0, 30.0], 7))
    points.append(point(1.0, [Progress(due=200, acked=190, committed=150)], [], 3))
    assert rate(points, "offered") == 200.0
    assert rate(points, "committed") == 150.0
    assert points[1].lag_max_ms == 30.0
    table = render(points, "producing", 1000)
    assert table.row_count >= 8


def test_a_point_sums_the_producers() -> None:
    p = point(
        2.0,
        [Progress(due=5, acked=4, errors=1, behind_ms=3.0), Progress(due=6, acked=6)],
        [],
        9,
    )
    assert p == Point(2.0, 11, 10, 0, 1, 9, 3.0, None, None)
