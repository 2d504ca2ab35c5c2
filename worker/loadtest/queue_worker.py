"""The worker of ``chatmem loadtest --mode queue``: arq and the job contract, no PostgreSQL.

It is chatmem's worker (WorkerSettings, StoreWorker, persist_store_writes)
with one part swapped: the group committer gives way to a PendingClearer,
which persists nothing and only clears the pending entries of the writes it
is handed, grouped as the committer groups them. So the load test measures
what the queue alone costs (enqueue, claim, decode, clear) and sees each
write done the same way. It runs only as ``python -m worker.loadtest.queue_worker``,
out of the production worker's way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from domain.models import StoreWrite
from infra.logs import configure_logging, get_logger
from infra.redis_client import RedisClient
from infra.settings import Settings
from infra.stores.batcher import WriteBatcher
from infra.stores.dead_letters import DeadLetters
from infra.stores.keys import QueueKeys
from infra.stores.scripts import LuaScript, clear_call, clear_pending_script
from worker.commands.worker import serve
from worker.committer import MAX_CONCURRENT_COMMITS, MAX_WRITES_PER_COMMIT, Rejected
from worker.settings import (
    arq_pool,
    build_worker,
    job_deadline,
    quiet_arq_job_lines,
    worker_options,
)

log = get_logger(__name__)


class PendingClearer:
    """Stands in for GroupCommitter: a job's writes count as done once their entries are cleared."""

    def __init__(self, redis: RedisClient, keys: QueueKeys) -> None:
        self._keys = keys
        self._redis = redis
        self._clear = LuaScript(redis.redis, clear_pending_script(keys))
        self._batcher: WriteBatcher[StoreWrite] = WriteBatcher(
            self._clear_group,
            max_inflight=MAX_CONCURRENT_COMMITS,
            max_batch=MAX_WRITES_PER_COMMIT,
        )

    async def commit(
        self, job_id: str, writes: Sequence[StoreWrite], job_try: int = 1
    ) -> list[Rejected]:
        """Return once the pending entries of ``writes`` are cleared (nothing is persisted)."""
        await self._batcher.submit(writes)
        return []

    async def _clear_group(self, writes: list[StoreWrite]) -> None:
        keys, args = clear_call(self._keys, writes)
        try:
            await self._clear(keys, args)
        except (RedisError, OSError) as exc:
            # Transient for persist_store_writes: the job is retried.
            raise self._redis.unavailable(exc) from None

    async def aclose(self) -> None:
        """Let the clears in flight finish."""
        await self._batcher.wait_idle()


async def startup(ctx: dict[str, Any]) -> None:
    """What the production startup does, minus PostgreSQL: the committer is a PendingClearer."""
    settings: Settings = ctx["settings"]
    redis = RedisClient(ctx["redis"], ctx["redis_url"])
    keys = QueueKeys(settings.queue_name)
    ctx["committer"] = PendingClearer(redis, keys)
    ctx["dead_letters"] = DeadLetters(redis, keys)
    ctx["job_deadline_s"] = job_deadline(settings.worker_job_timeout)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Let the clears in flight finish."""
    clearer: PendingClearer | None = ctx.get("committer")
    if clearer is not None:
        await clearer.aclose()


async def run_queue_worker(settings: Settings) -> int:
    """Run on REDIS_URL and QUEUE_NAME until SIGTERM; 0 on a clean stop."""
    quiet_arq_job_lines(settings.log_level)
    redis_url = settings.redis_target
    pool = arq_pool(redis_url, settings.queue_name)
    options = worker_options(settings, redis_url, settings.database_target, pool)
    worker = build_worker({**options, "on_startup": startup, "on_shutdown": shutdown})
    log.info("queue_only_worker_started", queue=settings.queue_name)
    await serve(worker)
    log.info("worker_stopped", jobs_complete=worker.jobs_complete, jobs_failed=worker.jobs_failed)
    return 0


def main() -> int:
    """Entry point of ``python -m worker.loadtest.queue_worker``."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(run_queue_worker(settings))


if __name__ == "__main__":
    raise SystemExit(main())
