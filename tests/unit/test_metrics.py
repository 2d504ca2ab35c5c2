"""The metrics a worker exposes: its hooks, arq's counters, the queue's gauges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from infra import metrics
from infra.metrics import QueueCollector, WorkerCollector
from infra.stores.queue_stats import QueueStats
from infra.stores.worker_health import WorkerHealth


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_group_commit_moves_the_persisted_counters_and_the_size_histogram() -> None:
    expected = {
        "chatmem_store_writes_persisted_total": 301,
        "chatmem_store_rows_changed_total": 250,
        "chatmem_group_commit_writes_count": 2,
        "chatmem_group_commit_writes_sum": 301,
        "chatmem_group_commit_seconds_count": 2,
    }
    before = {name: _value(name) for name in expected}
    metrics.group_committed(300, 250, 0.02)
    metrics.group_committed(1, 0, 0.001)
    moved = {name: _value(name) - before[name] for name in expected}
    assert moved == pytest.approx(expected)


def test_dead_lettered_ops_are_counted() -> None:
    before = _value("chatmem_store_writes_dead_lettered_total")
    metrics.dead_lettered(3)
    metrics.dead_lettered()
    assert _value("chatmem_store_writes_dead_lettered_total") - before == pytest.approx(4)


@dataclass
class FakeWorker:
    jobs_complete: int = 0
    jobs_failed: int = 0
    jobs_retried: int = 0
    job_tasks: dict[str, object] = field(default_factory=dict)


def test_arqs_job_counters_are_read_at_each_scrape() -> None:
    registry = CollectorRegistry()
    worker = FakeWorker()
    registry.register(WorkerCollector(worker))
    worker.jobs_complete, worker.jobs_failed, worker.jobs_retried = 7, 1, 2
    worker.job_tasks = {"a": object(), "b": object()}
    assert registry.get_sample_value("chatmem_jobs_completed_total") == 7
    assert registry.get_sample_value("chatmem_jobs_failed_total") == 1
    assert registry.get_sample_value("chatmem_jobs_retried_total") == 2
    assert registry.get_sample_value("chatmem_jobs_running") == 2


def _stats() -> QueueStats:
    return QueueStats(
        queue="q",
        read_at=datetime.now(UTC),
        queued=9,
        due=6,
        in_progress=4,
        in_progress_exact=True,
        oldest_job_age_s=12.5,
        pending_entries=30,
        pending_namespaces=3,
        pending_exact=True,
        pending_by_namespace=None,
        dead_letters=2,
        worker=WorkerHealth(True),
    )


def test_the_queue_gauges_come_from_a_fresh_read_at_each_scrape() -> None:
    reads: list[int] = []

    def read() -> QueueStats:
        reads.append(1)
        return _stats()

    registry = CollectorRegistry()
    registry.register(QueueCollector("q", read))
    assert reads == []  # registering describes the metrics without reading Redis
    labels = {"queue": "q"}
    assert registry.get_sample_value("chatmem_queue_jobs", labels) == 9
    assert registry.get_sample_value("chatmem_queue_jobs_deferred", labels) == 3
    assert registry.get_sample_value("chatmem_queue_jobs_in_progress", labels) == 4
    assert registry.get_sample_value("chatmem_queue_oldest_job_age_seconds", labels) == 12.5
    assert registry.get_sample_value("chatmem_queue_pending_writes", labels) == 30
    assert registry.get_sample_value("chatmem_queue_dead_letters", labels) == 2
    assert registry.get_sample_value("chatmem_queue_worker_seen", labels) == 1
    assert registry.get_sample_value("chatmem_queue_stats_up", labels) == 1
    assert len(reads) == 8


def test_a_failed_read_reports_the_queue_as_down_and_no_stale_figures() -> None:
    def read() -> QueueStats:
        raise ConnectionError("Redis away")

    registry = CollectorRegistry()
    registry.register(QueueCollector("q", read))
    assert registry.get_sample_value("chatmem_queue_stats_up", {"queue": "q"}) == 0
    assert registry.get_sample_value("chatmem_queue_jobs", {"queue": "q"}) is None
