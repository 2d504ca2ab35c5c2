"""The job the worker runs: ``persist_store_writes``, and the typed context it gets."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, TypedDict

import asyncpg
from arq import Retry
from arq.connections import ArqRedis
from structlog.contextvars import bound_contextvars

from domain.errors import MalformedJobError, PermanentWriteError, ServiceUnavailableError
from infra.logs import get_logger
from infra.postgres_client import PostgresClient
from infra.settings import Settings
from infra.stores.jobs import decode_ops
from worker.committer import GroupCommitter

log = get_logger(__name__)

# Errors a later try can get past: a server away, a deadlock or serialisation
# conflict, a commit that did not finish before the job's deadline.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ServiceUnavailableError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.QueryCanceledError,
    TimeoutError,
)


class WorkerContext(TypedDict):
    """What every job finds in arq's context, set up once per worker process."""

    #: arq's Redis pool (the queue, the pending writes); set by arq itself.
    redis: ArqRedis
    #: the settings the worker was started with.
    settings: Settings
    #: the PostgreSQL pool the committer writes through.
    postgres: PostgresClient
    #: merges the writes of all jobs in flight into one commit.
    committer: GroupCommitter
    #: how long a job waits for its commit before it gives up and is retried.
    commit_deadline_s: float
    #: a job's last try: failing then drops it (and logs store_writes_dropped).
    max_tries: int


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


def retry_delay(job_try: int) -> float:
    """Seconds before the next try: doubling from 0.5 s, at most 30 s."""
    return float(min(0.5 * 2 ** (job_try - 1), 30.0))


async def persist_store_writes(ctx: JobContext, ops: Any) -> None:
    """Persist a job's ops through the group committer; complete only once committed."""
    with bound_contextvars(job_id=ctx["job_id"], job_try=ctx["job_try"]):
        try:
            writes = decode_ops(ops)
        except MalformedJobError as exc:
            log.error("store_job_rejected", error=str(exc), index=exc.index)
            raise
        try:
            async with asyncio.timeout(ctx["commit_deadline_s"]):
                await ctx["committer"].commit(ctx["job_id"], writes)
        except TRANSIENT_ERRORS as exc:
            delay = retry_delay(ctx["job_try"])
            error = str(exc) or type(exc).__name__
            if ctx["job_try"] >= ctx["max_tries"]:
                # arq drops a job past its last try; this line is all that is left of it.
                log.error("store_writes_dropped", error=error, ops=len(writes))
            else:
                log.warning("store_writes_retried", error=error, ops=len(writes), defer_s=delay)
            raise Retry(defer=delay) from exc
        except Exception as exc:
            # Retrying cannot help: PostgreSQL refused the job's writes for good.
            log.error("store_writes_rejected", error=str(exc), ops=len(writes))
            raise PermanentWriteError(str(exc)) from exc
