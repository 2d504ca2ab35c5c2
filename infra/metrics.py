"""Prometheus metrics of a worker process: what it has done, and the figures of its queue.

Code that does the work reports it through the functions below (cheap, no
I/O, safe from any thread); ``serve_metrics`` exposes them, arq's job
counters and the queue's figures over HTTP. Counters count what this
process did since it started; the queue gauges are the same for every
worker of a queue (aggregate them with ``max``).

- ``group_committed(writes, rows_changed, seconds)``: the group committer,
  after each commit.
- ``dead_lettered(ops)``: whoever moves store writes to the dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import redis.asyncio as aioredis
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from domain.errors import ConfigurationError
from infra.stores.keys import QueueKeys
from infra.stores.queue_stats import QueueStats, read_queue_stats

WRITES_PERSISTED = Counter(
    "chatmem_store_writes_persisted",
    "Store writes this process committed to PostgreSQL (older or repeated ones included).",
)
ROWS_CHANGED = Counter(
    "chatmem_store_rows_changed",
    "Rows the commits of this process changed (a write older than the stored one changes none).",
)
COMMIT_WRITES = Histogram(
    "chatmem_group_commit_writes",
    "Writes per group commit (its _count is the number of commits).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
)
COMMIT_SECONDS = Histogram(
    "chatmem_group_commit_seconds",
    "Time of one group commit: the statement, then clearing its pending entries.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERED = Counter(
    "chatmem_store_writes_dead_lettered",
    "Store writes this process moved to the dead letters.",
)


def group_committed(writes: int, rows_changed: int, seconds: float) -> None:
    """Count one group commit of ``writes`` writes that changed ``rows_changed`` rows."""
    WRITES_PERSISTED.inc(writes)
    ROWS_CHANGED.inc(rows_changed)
    COMMIT_WRITES.observe(writes)
    COMMIT_SECONDS.observe(seconds)


def dead_lettered(ops: int = 1) -> None:
    """Count ``ops`` store writes moved to the dead letters."""
    DEAD_LETTERED.inc(ops)


class JobCounts(Protocol):
    """What the metrics read of a running arq worker (arq.worker.Worker has it)."""

    @property
    def jobs_complete(self) -> int: ...

    @property
    def jobs_failed(self) -> int: ...

    @property
    def jobs_retried(self) -> int: ...

    @property
    def job_tasks(self) -> Mapping[str, object]: ...


class WorkerCollector(Collector):
    """arq's own job counters of this process, read on every scrape."""

    def __init__(self, worker: JobCounts) -> None:
        self._worker = worker

    def describe(self) -> Iterable[Metric]:
        """The metric names, without reading anything."""
        return self._families()

    def collect(self) -> Iterable[Metric]:
        """The counters' current values."""
        w = self._worker
        return self._families(
            (w.jobs_complete, w.jobs_failed, w.jobs_retried, len(w.job_tasks)),
        )

    @staticmethod
    def _families(values: tuple[int, int, int, int] | None = None) -> list[Metric]:
        families: list[CounterMetricFamily | GaugeMetricFamily] = [
            CounterMetricFamily("chatmem_jobs_completed", "Jobs this process completed."),
            CounterMetricFamily(
                "chatmem_jobs_failed", "Jobs this process failed for good (arq's count)."
            ),
            CounterMetricFamily("chatmem_jobs_retried", "Job runs this process ended in a retry."),
            GaugeMetricFamily("chatmem_jobs_running", "Jobs running in this process now."),
        ]
        if values is not None:
            for family, value in zip(families, values, strict=True):
                family.add_metric([], value)
        return list(families)


# (name, help, how to read it from a snapshot); each has the label "queue".
_QUEUE_GAUGES: tuple[tuple[str, str, Callable[[QueueStats], float | None]], ...] = (
    (
        "chatmem_queue_jobs",
        "Jobs in the queue (due, running or waiting to retry).",
        lambda s: s.queued,
    ),
    (
        "chatmem_queue_jobs_deferred",
        "Queued jobs waiting for a retry's backoff.",
        lambda s: s.deferred,
    ),
    (
        "chatmem_queue_jobs_in_progress",
        "Jobs some worker holds (arq's in-progress marks); a lower bound past the scan limit.",
        lambda s: s.in_progress,
    ),
    (
        "chatmem_queue_oldest_job_age_seconds",
        "How long the oldest due job has been due; 0 when none is.",
        lambda s: s.oldest_job_age_s or 0.0,
    ),
    (
        "chatmem_queue_pending_writes",
        "Read-your-writes entries not yet cleared by a commit; a lower bound past the scan limit.",
        lambda s: s.pending_entries,
    ),
    ("chatmem_queue_dead_letters", "Entries in the dead-letter stream.", lambda s: s.dead_letters),
    (
        "chatmem_queue_worker_seen",
        "1 when arq's health-check key shows a live worker on the queue.",
        lambda s: 1.0 if s.worker.seen else 0.0,
    ),
)


class QueueCollector(Collector):
    """The queue's figures, read from Redis on every scrape through ``read``.

    ``read`` runs in the HTTP server's thread; ``loop_reader`` makes one that
    runs the read on the worker's event loop. A failed read yields only
    ``chatmem_queue_stats_up 0``.
    """

    def __init__(self, queue: str, read: Callable[[], QueueStats]) -> None:
        self._queue = queue
        self._read = read

    def describe(self) -> Iterable[Metric]:
        """The metric names, without reading Redis."""
        return [*self._gauges(None), self._up(0)]

    def collect(self) -> Iterator[Metric]:
        """Read the queue, then yield its gauges."""
        try:
            stats = self._read()
        except Exception:
            yield self._up(0)
            return
        yield from self._gauges(stats)
        yield self._up(1)

    def _gauges(self, stats: QueueStats | None) -> list[Metric]:
        families: list[Metric] = []
        for name, text, value in _QUEUE_GAUGES:
            family = GaugeMetricFamily(name, text, labels=["queue"])
            if stats is not None:
                family.add_metric([self._queue], float(value(stats) or 0))
            families.append(family)
        return families

    def _up(self, value: int) -> Metric:
        family = GaugeMetricFamily(
            "chatmem_queue_stats_up",
            "1 when the last scrape could read the queue.",
            labels=["queue"],
        )
        family.add_metric([self._queue], value)
        return family


def loop_reader(
    loop: asyncio.AbstractEventLoop,
    read: Callable[[], Coroutine[Any, Any, QueueStats]],
    timeout: float = 5.0,
) -> Callable[[], QueueStats]:
    """A blocking reader, for another thread, that runs the coroutine ``read()`` on ``loop``."""

    def run() -> QueueStats:
        if loop.is_closed():
            raise RuntimeError("the worker's event loop is closed")
        coro = read()
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:
            coro.close()  # the loop closed meanwhile: never awaited, and no warning about it
            raise
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    return run


class MetricsServer:
    """The HTTP server of /metrics, in a daemon thread; ``close`` stops it and unregisters."""

    def __init__(
        self,
        host: str,
        port: int,
        collectors: Sequence[Collector],
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._registry = registry
        self._collectors: list[Collector] = []
        try:
            for collector in collectors:
                registry.register(collector)
                self._collectors.append(collector)
            self._httpd, self._thread = start_http_server(port, host, registry)
        except OSError as exc:
            self.close()
            raise ConfigurationError(
                "METRICS_HOST/METRICS_PORT",
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
            ) from None
        self.host = host
        self.port: int = self._httpd.server_port

    def close(self) -> None:
        """Stop serving and forget the collectors (the counters stay)."""
        httpd = getattr(self, "_httpd", None)
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        for collector in self._collectors:
            with contextlib.suppress(KeyError):
                self._registry.unregister(collector)
        self._collectors = []


def serve_worker_metrics(
    host: str,
    port: int,
    worker: JobCounts,
    redis: aioredis.Redis,
    keys: QueueKeys,
    *,
    health_check_interval: float,
    target: str,
) -> MetricsServer:
    """Serve a worker's counters and its queue's figures; call it on the worker's event loop."""
    loop = asyncio.get_running_loop()

    def read() -> Coroutine[Any, Any, QueueStats]:
        return read_queue_stats(
            redis, keys, health_check_interval=health_check_interval, target=target
        )

    collectors = [WorkerCollector(worker), QueueCollector(keys.queue, loop_reader(loop, read))]
    return MetricsServer(host, port, collectors)
