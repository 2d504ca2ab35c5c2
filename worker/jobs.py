"""The job the worker runs: ``persist_store_writes``, and the typed context it gets.

A job ends in one of three ways. Its valid writes are committed (or, those
PostgreSQL refuses for good, dead-lettered by the committer) and its invalid
ops dead-lettered: it completes. A failure a later try can get past: it is
retried after a capped, jittered backoff. Its last try fails too: its writes
are dead-lettered and it completes. Nothing is dropped without a dead letter.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, TypedDict

from arq import Retry
from arq.connections import ArqRedis
from structlog.contextvars import bound_contextvars

from domain.errors import MalformedJobError
from infra.logs import get_logger
from infra.postgres_client import PostgresClient
from infra.redaction import redact_text
from infra.settings import Settings
from infra.stores.dead_letters import Burial, DeadLetters
from infra.stores.jobs import decode_job
from worker.committer import GroupCommitter
from worker.failures import backoff

log = get_logger(__name__)


class WorkerContext(TypedDict):
    """What every job finds in arq's context, set up once per worker process."""

    #: arq's Redis pool (the queue, the pending writes); set by arq itself.
    redis: ArqRedis
    #: the settings the worker was started with (tries, backoff, timeout).
    settings: Settings
    #: the PostgreSQL pool the committer writes through.
    postgres: PostgresClient
    #: merges the writes of all jobs in flight into one commit.
    committer: GroupCommitter
    #: the queue's dead-letter stream.
    dead_letters: DeadLetters
    #: how long a job may take before it gives up and asks to be retried;
    #: below arq's job timeout, which would drop the job without a dead letter.
    job_deadline_s: float


class JobContext(WorkerContext):
    """WorkerContext plus what arq adds for one run of one job."""

    #: arq's job id (the part of arq:job:<id> after the prefix).
    job_id: str
    #: 1 on the first run, 2 on the first retry, ...
    job_try: int
    #: when the job was enqueued (arq's "et").
    enqueue_time: datetime
    #: the job's score in the queue (when it became due), epoch milliseconds.
    score: int


def retry_delay(job_try: int, settings: Settings) -> float:
    """Seconds before the next try: WORKER_RETRY_BASE doubling to WORKER_RETRY_MAX, jittered."""
    return backoff(job_try, settings.worker_retry_base, settings.worker_retry_max)


async def persist_store_writes(ctx: JobContext, ops: Any) -> None:
    """Persist a job's ops through the group committer; complete only once all are settled."""
    with bound_contextvars(job_id=ctx["job_id"], job_try=ctx["job_try"]):
        try:
            async with asyncio.timeout(ctx["job_deadline_s"]):
                await _persist(ctx, ops)
        except Exception as exc:
            await _retry_or_bury(ctx, exc)


async def _persist(ctx: JobContext, ops: Any) -> None:
    try:
        job = decode_job(ops)
    except MalformedJobError as exc:
        buried = await ctx["dead_letters"].bury_job(ctx["job_id"], ctx["job_try"], exc.reason)
        log.error(
            "store_job_dead_lettered", kinds=["malformed"], error=exc.reason, entries=len(buried)
        )
        return
    if job.writes:
        await ctx["committer"].commit(ctx["job_id"], job.writes, ctx["job_try"])
    if job.invalid:
        # Only after the commit: a retried job must not bury its invalid ops twice.
        burials = [Burial.of_invalid(ctx["job_id"], ctx["job_try"], op) for op in job.invalid]
        await ctx["dead_letters"].bury(burials)
        for op in job.invalid:
            log.error("store_write_dead_lettered", kind="invalid", index=op.index, error=op.reason)


async def _retry_or_bury(ctx: JobContext, exc: Exception) -> None:
    error = redact_text(str(exc)) or type(exc).__name__
    settings = ctx["settings"]
    if ctx["job_try"] < settings.worker_max_tries:
        delay = retry_delay(ctx["job_try"], settings)
        log.warning("store_writes_retried", error=error, defer_s=round(delay, 3))
        raise Retry(defer=delay) from exc
    try:
        buried = await ctx["dead_letters"].bury_job(ctx["job_id"], ctx["job_try"], error)
    except Exception as bury_exc:
        # Redis is away too: arq runs the job once more, finds it past its
        # last try and StoreWorker buries it then.
        log.warning("store_writes_retried", error=str(bury_exc), defer_s=0)
        raise Retry(defer=retry_delay(ctx["job_try"], settings)) from exc
    kinds = sorted({burial.kind for burial in buried})
    log.error("store_job_dead_lettered", kinds=kinds, error=error, entries=len(buried))
