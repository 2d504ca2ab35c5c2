"""arq's WorkerSettings for chatmem, and what the environment adds to them."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar, cast

from arq.connections import ArqRedis
from arq.worker import func, get_kwargs
from redis.asyncio import ConnectionPool

from infra.migrations import migrate
from infra.postgres_client import PostgresClient
from infra.redis_client import RedisClient
from infra.settings import (
    DEFAULT_WORKER_JOB_TIMEOUT,
    DEFAULT_WORKER_MAX_JOBS,
    DEFAULT_WORKER_MAX_TRIES,
    DEFAULT_WORKER_POLL_DELAY,
    Settings,
)
from infra.stores.dead_letters import DeadLetters
from infra.stores.jobs import FUNCTION_NAME, deserialize_job, serialize_job
from infra.stores.keys import QueueKeys
from worker.arq_worker import StoreWorker
from worker.committer import MAX_CONCURRENT_COMMITS, GroupCommitter
from worker.jobs import persist_store_writes

if TYPE_CHECKING:
    from arq.typing import WorkerCoroutine

# SIGTERM: jobs in flight get this long to commit; then the committer and the
# PostgreSQL pool get the rest of a 10 s budget (see shutdown).
JOB_COMPLETION_WAIT_S = 6
COMMITTER_GRACE_S = 1.5
POOL_CLOSE_S = 1.5


def job_deadline(job_timeout: float) -> float:
    """How long a job may work before it asks to be retried.

    Below arq's job timeout, which would fail the job and drop it; the margin
    leaves time to ask for the retry (or to bury the job on its last try).
    """
    return job_timeout - min(5.0, job_timeout / 5)


async def startup(ctx: dict[str, Any]) -> None:
    """Open the PostgreSQL pool, apply missing migrations, start the group committer."""
    settings: Settings = ctx["settings"]
    size = MAX_CONCURRENT_COMMITS + 1
    postgres = await PostgresClient.connect(ctx["database_url"], min_size=1, max_size=size)
    await migrate(postgres.pool)
    redis = RedisClient(ctx["redis"], ctx["redis_url"])
    keys = QueueKeys(settings.queue_name)
    ctx["postgres"] = postgres
    ctx["committer"] = GroupCommitter(postgres, redis, keys)
    ctx["dead_letters"] = DeadLetters(redis, keys)
    ctx["job_deadline_s"] = job_deadline(settings.worker_job_timeout)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Let the commits in flight finish (briefly), then close the PostgreSQL pool."""
    committer: GroupCommitter | None = ctx.get("committer")
    if committer is not None:
        await committer.aclose(grace_s=COMMITTER_GRACE_S)
    postgres: PostgresClient | None = ctx.get("postgres")
    if postgres is not None:
        try:
            await asyncio.wait_for(postgres.close(), POOL_CLOSE_S)
        except TimeoutError:
            postgres.pool.terminate()


def store_function(settings: Settings) -> Any:
    """persist_store_writes as arq registers it, with the timeout and tries of ``settings``."""
    # arq hands every job a plain dict; JobContext is the typed description of it.
    return func(
        cast("WorkerCoroutine", persist_store_writes),
        name=FUNCTION_NAME,
        timeout=settings.worker_job_timeout,
        max_tries=settings.worker_max_tries,
    )


class WorkerSettings:
    """The worker's fixed arq settings; ``worker_options`` adds those from the environment."""

    functions: ClassVar[list[Any]] = [store_function(Settings())]
    on_startup = startup
    on_shutdown = shutdown
    # JSON both ways: arq's default, pickle, would let anyone who can write to
    # Redis run code in the worker.
    job_serializer = serialize_job
    job_deserializer = deserialize_job
    # Many small concurrent jobs make large group commits; their results are not kept.
    max_jobs = DEFAULT_WORKER_MAX_JOBS
    poll_delay = DEFAULT_WORKER_POLL_DELAY
    # arq re-runs a crashed worker's job once its in-progress key expires, which
    # is the job timeout + 10 s: 40 s by default, so the job is back within a minute.
    job_timeout = DEFAULT_WORKER_JOB_TIMEOUT
    max_tries = DEFAULT_WORKER_MAX_TRIES
    keep_result = 0
    # SIGTERM: stop taking jobs, give those in flight this long to commit.
    job_completion_wait = JOB_COMPLETION_WAIT_S
    health_check_interval = 10


def build_worker(options: dict[str, Any]) -> StoreWorker:
    """A StoreWorker from WorkerSettings, ``options`` (see worker_options) taking precedence."""
    return StoreWorker(**{**get_kwargs(cast(Any, WorkerSettings)), **options})


def arq_pool(redis_url: str, queue_name: str) -> ArqRedis:
    """arq's Redis client built from a URL (redis://, rediss:// or unix://), JSON jobs."""
    pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=2.0, socket_timeout=30.0)
    redis = ArqRedis(
        pool,
        job_serializer=serialize_job,
        job_deserializer=deserialize_job,
        default_queue_name=queue_name,
    )
    # The client owns the pool it was built on: aclose() closes its connections.
    redis.auto_close_connection_pool = True
    return redis


def worker_options(
    settings: Settings, redis_url: str, database_url: str, pool: ArqRedis
) -> dict[str, Any]:
    """arq Worker keyword arguments: WorkerSettings, then the environment's values."""
    return {
        "redis_pool": pool,
        "queue_name": settings.queue_name,
        "max_jobs": settings.worker_max_jobs,
        # Ids read per poll: those running here plus as many as could start.
        # arq's default (5x max_jobs) makes every poll of a busy queue costly.
        "queue_read_limit": 2 * settings.worker_max_jobs,
        "poll_delay": settings.worker_poll_delay,
        "functions": [store_function(settings)],
        "job_timeout": settings.worker_job_timeout,
        "max_tries": settings.worker_max_tries,
        "ctx": {"settings": settings, "redis_url": redis_url, "database_url": database_url},
    }


def quiet_arq_job_lines(level: str = "INFO") -> None:
    """Keep arq's two INFO lines per job out of the log unless LOG_LEVEL is DEBUG.

    store_writes_persisted says more, and at thousands of jobs a second the
    lines (and the records made only to be dropped) cost real time.
    """
    logging.getLogger("arq.worker").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
