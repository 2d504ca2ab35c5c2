"""Scenario (b)'s worker: stock arq, one job per write, one single-row upsert per job."""

from __future__ import annotations

import asyncio
from typing import Any

from arq.worker import Worker, func

from infra.logs import configure_logging
from infra.postgres_client import PostgresClient
from infra.settings import Settings
from infra.stores.jobs import decode_ops, deserialize_job, serialize_job
from infra.stores.writes import upsert_newer
from worker.commands.worker import serve
from worker.settings import arq_pool, quiet_arq_job_lines

FUNCTION = "naive_persist"


async def naive_persist(ctx: dict[str, Any], op: dict[str, Any]) -> None:
    """Persist one op with its own statement and transaction."""
    postgres: PostgresClient = ctx["postgres"]
    async with postgres.pool.acquire() as conn:
        await upsert_newer(conn, decode_ops([op]))


async def _startup(ctx: dict[str, Any]) -> None:
    ctx["postgres"] = await PostgresClient.connect(ctx["database_url"], max_size=10)


async def _shutdown(ctx: dict[str, Any]) -> None:
    await ctx["postgres"].close()


async def _run(settings: Settings) -> None:
    worker = Worker(
        functions=[func(naive_persist, name=FUNCTION)],
        redis_pool=arq_pool(settings.redis_target, settings.queue_name),
        queue_name=settings.queue_name,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay,
        job_serializer=serialize_job,
        job_deserializer=deserialize_job,
        keep_result=0,
        on_startup=_startup,
        on_shutdown=_shutdown,
        ctx={"database_url": settings.database_target},
    )
    await serve(worker)


def run_naive_worker() -> None:
    """Run the naive worker on REDIS_URL, DATABASE_URL and QUEUE_NAME until SIGTERM."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    quiet_arq_job_lines(settings.log_level)
    asyncio.run(_run(settings))
