"""`chatmem worker`: run an arq worker that persists queued store writes to PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio

from arq.worker import Worker

from infra.logs import get_logger
from infra.redaction import redact_url
from infra.services import ServiceResolver
from infra.settings import Settings
from worker.settings import arq_pool, build_worker, quiet_arq_job_lines, worker_options

HELP = "Run an arq worker that persists queued store writes to PostgreSQL."

log = get_logger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: REDIS_URL, DATABASE_URL, QUEUE_NAME and WORKER_* say everything."""


async def run_worker(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then let in-flight jobs commit; 0 on a clean stop."""
    # Never an embedded server: a worker must not persist into a throw-away database.
    endpoints = await ServiceResolver(settings, allow_embedded=False).resolve()
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
    await serve(worker)
    log.info("worker_stopped", jobs_complete=worker.jobs_complete, jobs_failed=worker.jobs_failed)
    return 0


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
    """Run the worker in this process."""
    return asyncio.run(run_worker(settings))
