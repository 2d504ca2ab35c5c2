"""Group commit: the writes of every job in flight go to PostgreSQL together.

Jobs hand their writes to one GroupCommitter and wait. While a commit runs,
the writes of the jobs arriving meanwhile gather; the next commit takes them
all: one statement (infra.stores.writes.upsert_newer), one transaction, then
one Redis call that clears the pending entries the commit made durable. A
job's wait ends only after both, so a job completes only once its writes are
committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError

from domain.errors import ServiceUnavailableError
from domain.models import StoreWrite
from infra import metrics
from infra.logs import get_logger
from infra.postgres_client import CONNECTION_ERRORS, Connection, PostgresClient, unavailable
from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.scripts import LuaScript, clear_call, clear_pending_script
from infra.stores.writes import upsert_newer

log = get_logger(__name__)

# A bound on one statement, so one commit stays short even with a deep backlog.
MAX_WRITES_PER_COMMIT = 4096
# Commits in flight at once: while one waits for PostgreSQL (its WAL flush
# above all), the next group is encoded and sent. Rows are locked in key
# order by every statement, so concurrent commits wait, never deadlock.
MAX_CONCURRENT_COMMITS = 3


@dataclass(slots=True)
class _Job:
    job_id: str
    writes: Sequence[StoreWrite]
    done: asyncio.Future[None]


@dataclass(slots=True)
class CommitStats:
    """What a committer has done so far (statements counted by the committer itself)."""

    commits: int = 0
    statements: int = 0
    writes: int = 0
    rows_changed: int = 0


class GroupCommitter:
    """Merges the writes of concurrent jobs into few commits, a few in flight at once.

    A commit takes every job waiting when it starts, so under load each
    statement carries the writes of many jobs; when idle a job commits at once.
    """

    def __init__(
        self,
        postgres: PostgresClient,
        redis: RedisClient,
        keys: QueueKeys,
        *,
        max_writes_per_commit: int = MAX_WRITES_PER_COMMIT,
        max_concurrent_commits: int = MAX_CONCURRENT_COMMITS,
    ) -> None:
        self._postgres = postgres
        self._redis = redis
        self._clear = LuaScript(redis.redis, clear_pending_script(keys))
        self._keys = keys
        self._max_writes = max_writes_per_commit
        self._max_drainers = max_concurrent_commits
        self._waiting: list[_Job] = []
        self._drainers: set[asyncio.Task[None]] = set()
        self.stats = CommitStats()

    async def commit(self, job_id: str, writes: Sequence[StoreWrite]) -> None:
        """Return once ``writes`` are committed and their pending entries cleared."""
        job = _Job(job_id, writes, asyncio.get_running_loop().create_future())
        self._waiting.append(job)
        if len(self._drainers) < self._max_drainers:
            # A context of its own: the job that happens to start a drainer must
            # not lend its job_id to the log lines of every later commit.
            drainer = asyncio.create_task(self._drain(), context=contextvars.Context())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        await job.done

    async def _drain(self) -> None:
        while self._waiting:
            await self._drain_on_one_connection()

    async def _drain_on_one_connection(self) -> None:
        # One connection for as long as jobs keep coming: acquiring and releasing
        # per commit would cost a round trip (and a reset) each time.
        try:
            async with self._postgres.pool.acquire() as conn:
                while self._waiting:
                    if not await self._commit_group(conn, self._take_group()):
                        return
        except CONNECTION_ERRORS as exc:
            waiting, self._waiting = self._waiting, []
            _fail(waiting, unavailable(self._postgres.dsn, exc))

    def _take_group(self) -> list[_Job]:
        count = 0
        total = 0
        for job in self._waiting:
            total += len(job.writes)
            if count and total > self._max_writes:
                break
            count += 1
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    async def _commit_group(self, conn: Connection, group: list[_Job]) -> bool:
        """Commit a group; False when the connection is lost and must be replaced."""
        try:
            await self._persist(conn, group)
        except ServiceUnavailableError as exc:
            _fail(group, exc)
            return exc.service != "PostgreSQL"
        except Exception as exc:
            if len(group) == 1:
                _fail(group, exc)
                return True
            # One job's writes sank the statement (PostgreSQL refused a row, or
            # an expiry out of range): commit each job alone, so the others go
            # through and only the offending job fails.
            log.warning("store_commit_split", jobs=len(group), error=str(exc))
            for job in group:
                if not await self._commit_group(conn, [job]):
                    return False
        return True

    async def _persist(self, conn: Connection, group: list[_Job]) -> None:
        started = time.perf_counter()
        # upsert_newer keeps the newest write of each key; the compare-and-delete
        # is right for every write (an older one finds a newer entry, or none).
        writes = [w for job in group for w in job.writes]
        try:
            changed = await upsert_newer(conn, writes)
        except CONNECTION_ERRORS as exc:
            raise unavailable(self._postgres.dsn, exc) from exc
        self.stats.statements += 1
        committed = time.perf_counter()
        keys, args = clear_call(self._keys, writes)
        try:
            await self._clear(keys, args)
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
        self.stats.commits += 1
        self.stats.writes += len(writes)
        self.stats.rows_changed += changed
        metrics.group_committed(len(writes), changed, time.perf_counter() - started)
        for job in group:
            if not job.done.done():
                job.done.set_result(None)
        log.info(
            "store_writes_persisted",
            jobs=len(group),
            job_ids=[job.job_id for job in group],
            writes=len(writes),
            rows_changed=changed,
            commit_ms=round((committed - started) * 1000, 2),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    async def aclose(self) -> None:
        """Let the commit in flight, and those waiting behind it, finish."""
        await asyncio.gather(*self._drainers, return_exceptions=True)


def _fail(group: list[_Job], exc: BaseException) -> None:
    for job in group:
        if not job.done.done():
            job.done.set_exception(exc)
