"""`chatmem worker`: run an arq worker that persists queued store writes to PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from dataclasses import replace

from arq.worker import Worker

from domain.errors import ConfigurationError, ServiceUnavailableError
from infra.logs import get_logger
from infra.metrics import MetricsServer, serve_worker_metrics
from infra.redaction import redact_url
from infra.services import Endpoints, ServiceResolver
from infra.settings import Settings
from infra.stores.keys import QueueKeys
from worker.failures import backoff
from worker.settings import (
    WorkerSettings,
    arq_pool,
    build_worker,
    quiet_arq_job_lines,
    worker_options,
)

# Seconds between two attempts to reach the services at start, doubling.
STARTUP_RETRY_BASE = 0.5
STARTUP_RETRY_MAX = 5.0

HELP = "Run an arq worker that persists queued store writes to PostgreSQL."

log = get_logger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """REDIS_URL, DATABASE_URL, QUEUE_NAME and WORKER_* say the rest."""
    parser.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics on PORT (0: any free port); default METRICS_PORT, else off",
    )
    parser.add_argument(
        "--metrics-host",
        metavar="ADDRESS",
        help="address the metrics server listens on; default METRICS_HOST, else 127.0.0.1",
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65_535:
        raise argparse.ArgumentTypeError(f"expected a TCP port number (0-65535); got {text!r}")
    return int(text)


async def run_worker(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then let in-flight jobs commit; 0 on a clean stop."""
    endpoints = await resolve_endpoints(settings)
    quiet_arq_job_lines(settings.log_level)
    pool = arq_pool(endpoints.redis_url, settings.queue_name)
    options = worker_options(settings, endpoints.redis_url, endpoints.database_url, pool)
    worker = build_worker(options)
    log.info(
        "worker_started",
        queue=settings.queue_name,
        redis=redact_url(endpoints.redis_url),
        postgres=redact_url(endpoints.database_url),
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay,
    )
    try:
        metrics = _serve_metrics(settings, worker, endpoints.redis_url)
    except ConfigurationError:
        await pool.aclose()
        raise
    settle_heap()
    try:
        await serve(worker)
    finally:
        if metrics is not None:
            metrics.close()
    log.info("worker_stopped", jobs_complete=worker.jobs_complete, jobs_failed=worker.jobs_failed)
    return 0


# Allocations between collections of the youngest generation (CPython's default: 700).
GC_THRESHOLD = 50_000


def settle_heap() -> None:
    """Keep the garbage collector off the hot path of a long-running worker.

    A job of a few hundred ops allocates thousands of objects, and with
    CPython's defaults every few jobs trigger a collection that walks the
    whole heap: the modules loaded at startup (langchain, pydantic, asyncpg)
    included. Freezing what exists now moves it out of the collector's view,
    and a higher threshold makes collections rarer; reference counting still
    frees the jobs' objects at once, only cycles wait.
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, second, third)


async def resolve_endpoints(settings: Settings) -> Endpoints:
    """The worker's Redis and PostgreSQL, waiting up to WORKER_STARTUP_WAIT for them to answer.

    Never an embedded server: a worker must not persist into a throw-away
    database. While the wait lasts, a service that does not answer is asked
    again (a jittered backoff from 0.5 s to 5 s); after it, the worker exits
    with the error, for a supervisor to restart it.
    """
    resolver = ServiceResolver(settings, allow_embedded=False)
    deadline = time.monotonic() + settings.worker_startup_wait
    attempt = 0
    while True:
        try:
            return await resolver.resolve()
        except (ServiceUnavailableError, ConfigurationError) as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            attempt += 1
            delay = min(backoff(attempt, STARTUP_RETRY_BASE, STARTUP_RETRY_MAX), left)
            log.warning(
                "worker_waiting_for_services",
                error=str(exc),
                retry_in_s=round(delay, 2),
                wait_left_s=round(left, 1),
            )
            await asyncio.sleep(delay)


def _serve_metrics(settings: Settings, worker: Worker, redis_url: str) -> MetricsServer | None:
    if settings.metrics_port is None:
        return None
    server = serve_worker_metrics(
        settings.metrics_host,
        settings.metrics_port,
        worker,
        worker.pool,
        QueueKeys(settings.queue_name),
        health_check_interval=WorkerSettings.health_check_interval,
        target=redact_url(redis_url),
    )
    log.info("metrics_served", host=server.host, port=server.port, path="/metrics")
    return server


async def serve(worker: Worker) -> None:
    """Run an arq worker until a signal stops it, then close it (jobs in flight finish)."""
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        # arq's signal handler cancels its main task; anything else is ours to pass on.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    finally:
        await worker.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the worker in this process; the options override their variables."""
    if args.metrics_port is not None:
        settings = replace(settings, metrics_port=args.metrics_port)
    if args.metrics_host is not None:
        settings = replace(settings, metrics_host=args.metrics_host)
    return asyncio.run(run_worker(settings))
