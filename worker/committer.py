"""Group commit: the writes of every job in flight go to PostgreSQL together.

Jobs hand their writes to one GroupCommitter and wait. While a commit runs,
the writes of the jobs arriving meanwhile gather; the next commit takes them
all: one statement (infra.stores.writes.upsert_newer), one transaction, then
one Redis call that clears the pending entries the commit made durable. A
job's wait ends only after both, so a job completes only once its writes are
committed.

A write PostgreSQL refuses for good (see worker.failures) does not sink the
others: the statement is split in halves until it stands alone, everything
else is committed, and the write goes to the dead letters with its error in
the same Redis call that clears the pending entries. An older write of the
same key in the group then gets its turn, so each key ends at its newest
write that PostgreSQL accepts, however the writes were grouped. Any other
error fails the jobs of the group, which are retried.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError

from domain.models import StoreWrite
from infra import metrics
from infra.logs import get_logger
from infra.postgres_client import CONNECTION_ERRORS, Connection, PostgresClient, unavailable
from infra.redis_client import RedisClient
from infra.stores.dead_letters import Burial, DeadLetters
from infra.stores.keys import QueueKeys
from infra.stores.scripts import LuaScript, clear_call, clear_pending_script
from infra.stores.writes import newest_per_key, upsert_newer
from worker.failures import is_permanent

log = get_logger(__name__)

# A bound on one statement, so one commit stays short even with a deep backlog.
MAX_WRITES_PER_COMMIT = 4096
# Commits in flight at once: while one waits for PostgreSQL (its WAL flush
# above all), the next group is encoded and sent. Rows are locked in key
# order by every statement, so concurrent commits wait, never deadlock.
MAX_CONCURRENT_COMMITS = 3


@dataclass(frozen=True, slots=True)
class Rejected:
    """A write PostgreSQL refused for good (now a dead letter), and why."""

    write: StoreWrite
    error: str


@dataclass(slots=True)
class _Job:
    job_id: str
    job_try: int
    writes: Sequence[StoreWrite]
    done: asyncio.Future[list[Rejected]]


@dataclass(slots=True)
class CommitStats:
    """What a committer has done so far (statements counted by the committer itself)."""

    commits: int = 0
    statements: int = 0
    writes: int = 0
    rows_changed: int = 0
    rejected: int = 0


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
        self._dead_letters = DeadLetters(redis, keys)
        self._keys = keys
        self._max_writes = max_writes_per_commit
        self._max_drainers = max_concurrent_commits
        self._waiting: list[_Job] = []
        self._drainers: set[asyncio.Task[None]] = set()
        self.stats = CommitStats()

    async def commit(
        self, job_id: str, writes: Sequence[StoreWrite], job_try: int = 1
    ) -> list[Rejected]:
        """Return once ``writes`` are committed or dead-lettered; those dead-lettered.

        Raises what a retry may get past (ServiceUnavailableError naming
        PostgreSQL or Redis, a deadlock, ...); nothing is dead-lettered then.
        """
        job = _Job(job_id, job_try, writes, asyncio.get_running_loop().create_future())
        self._waiting.append(job)
        if len(self._drainers) < self._max_drainers:
            # A context of its own: the job that happens to start a drainer must
            # not lend its job_id to the log lines of every later commit.
            drainer = asyncio.create_task(self._drain(), context=contextvars.Context())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        return await job.done

    async def _drain(self) -> None:
        while self._waiting:
            await self._drain_on_one_connection()

    async def _drain_on_one_connection(self) -> None:
        # One connection for as long as jobs keep coming: acquiring and releasing
        # per commit would cost a round trip (and a reset) each time.
        try:
            async with self._postgres.pool.acquire() as conn:
                while self._waiting:
                    group = self._take_group()
                    try:
                        await self._commit_group(conn, group)
                    except asyncio.CancelledError:
                        for job in group:
                            job.done.cancel()
                        raise
                    except Exception as exc:
                        _fail(group, self._explain(exc))
                        if conn.is_closed():
                            return  # the next round takes a fresh connection
        except CONNECTION_ERRORS as exc:
            waiting, self._waiting = self._waiting, []
            _fail(waiting, unavailable(self._postgres.dsn, exc))

    def _take_group(self) -> list[_Job]:
        # A job cancelled while waiting (its worker is stopping) no longer wants its commit.
        self._waiting = [job for job in self._waiting if not job.done.done()]
        count = 0
        total = 0
        for job in self._waiting:
            total += len(job.writes)
            if count and total > self._max_writes:
                break
            count += 1
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    def _explain(self, exc: BaseException) -> BaseException:
        if isinstance(exc, CONNECTION_ERRORS):
            return unavailable(self._postgres.dsn, exc)
        return exc

    async def _commit_group(self, conn: Connection, group: list[_Job]) -> None:
        if not group:
            return
        started = time.perf_counter()
        writes = [w for job in group for w in job.writes]
        rejected, changed = await self._apply(conn, writes)
        committed = time.perf_counter()
        outcome: list[tuple[Rejected, _Job]] = []
        if rejected:
            owners = {id(w): job for job in group for w in job.writes}
            outcome = [(r, owners[id(r.write)]) for r in rejected]
        await self._settle(writes, outcome)
        self.stats.commits += 1
        self.stats.writes += len(writes)
        self.stats.rows_changed += changed
        self.stats.rejected += len(rejected)
        persisted = len(writes) - len(rejected)
        metrics.group_committed(persisted, changed, time.perf_counter() - started)
        for job in group:
            if not job.done.done():
                job.done.set_result([r for r, owner in outcome if owner is job])
        log.info(
            "store_writes_persisted",
            jobs=len(group),
            job_ids=[job.job_id for job in group],
            writes=len(writes),
            rows_changed=changed,
            rejected=len(rejected),
            commit_ms=round((committed - started) * 1000, 2),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    async def _apply(
        self, conn: Connection, writes: list[StoreWrite]
    ) -> tuple[list[Rejected], int]:
        """Commit the newest write of each key; a refused one yields to the next older."""
        refused, changed = await self._commit_or_isolate(conn, writes)
        rejected: list[Rejected] = []
        while refused:
            rejected += refused
            older = [w for r in refused if (w := _next_older(writes, r.write)) is not None]
            refused, rows = await self._commit_or_isolate(conn, newest_per_key(older))
            changed += rows
        return rejected, changed

    async def _commit_or_isolate(
        self, conn: Connection, batch: list[StoreWrite]
    ) -> tuple[list[Rejected], int]:
        """Commit ``batch``, or every part of it but the writes refused for good; rows changed."""
        if not batch:
            return [], 0
        self.stats.statements += 1
        try:
            return [], await upsert_newer(conn, batch)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            return await self._isolate(conn, batch, exc)

    async def _isolate(
        self, conn: Connection, batch: list[StoreWrite], error: Exception
    ) -> tuple[list[Rejected], int]:
        """``batch`` failed with ``error``: split it until the refused writes stand alone."""
        # Halves of distinct keys: only the newest write of a key is ever in a statement.
        batch = newest_per_key(batch)
        if len(batch) == 1:
            return [Rejected(batch[0], describe(error))], 0
        middle = len(batch) // 2
        left, left_rows = await self._commit_or_isolate(conn, batch[:middle])
        right, right_rows = await self._commit_or_isolate(conn, batch[middle:])
        return left + right, left_rows + right_rows

    async def _settle(
        self, writes: list[StoreWrite], rejected: list[tuple[Rejected, _Job]]
    ) -> None:
        """Clear the group's pending entries; bury what was rejected, in the same call."""
        if not rejected:
            try:
                await self._clear(*clear_call(self._keys, writes))
            except (RedisError, OSError) as exc:
                raise self._redis.unavailable(exc) from None
            return
        burials = [
            Burial.of_write(job.job_id, job.job_try, "rejected", r.write, r.error)
            for r, job in rejected
        ]
        await self._dead_letters.bury(burials, settled=writes)
        for r, job in rejected:
            log.error(
                "store_write_dead_lettered",
                kind="rejected",
                job_id=job.job_id,
                namespace=list(r.write.namespace),
                key=r.write.key,
                version=r.write.version,
                # PostgreSQL's detail lines may quote the row, values included: not in logs.
                error=r.error.split("\n", 1)[0],
            )

    async def aclose(self, grace_s: float | None = None) -> None:
        """Let the commits in flight, and those waiting behind them, finish.

        After ``grace_s`` seconds they are cancelled: their jobs are run again.
        """
        drainers = list(self._drainers)
        if not drainers:
            return
        _, pending = await asyncio.wait(drainers, timeout=grace_s)
        for drainer in pending:
            drainer.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def describe(exc: BaseException) -> str:
    """An error as a dead letter records it: its kind, SQLSTATE, message and any detail."""
    sqlstate = getattr(exc, "sqlstate", None)
    kind = f"{type(exc).__name__} (SQLSTATE {sqlstate})" if sqlstate else type(exc).__name__
    return f"{kind}: {exc}" if str(exc) else kind


def _next_older(writes: list[StoreWrite], than: StoreWrite) -> StoreWrite | None:
    """The newest write of ``than``'s key older than it, if the group has one."""
    older = [
        w
        for w in writes
        if w.version < than.version and w.key == than.key and w.namespace == than.namespace
    ]
    return max(older, key=lambda w: w.version, default=None)


def _fail(group: list[_Job], exc: BaseException) -> None:
    for job in group:
        if not job.done.done():
            job.done.set_exception(exc)
