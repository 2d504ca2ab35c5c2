"""StoreWorker: arq's Worker, claiming jobs in one Redis call and riding out Redis outages.

arq claims jobs one at a time, with four round trips each (WATCH, EXISTS,
ZSCORE, MULTI/EXEC), and re-examines on every poll the jobs it is already
running. With many small jobs a second that is most of a worker's time, so
StoreWorker claims them all at once with a script that applies the same rule:
a job is taken when it is still queued, due, and no worker holds its
in-progress key. The same script reads each claimed job and counts its try,
which arq would do in a transaction per job (see worker.claims), and the
jobs that complete in one turn of the loop are finished in one call, not in
a transaction each. Everything else (running, retrying, failing) is arq's.

arq's poll loop ends, and the worker with it, on the first Redis error. A
StoreWorker logs it, waits (a capped, jittered backoff) and polls again until
Redis answers. A claim whose reply was lost, or a job cut off by the outage,
leaves in-progress marks that would hold the jobs back until they expire;
the worker marks its claims with a token of its own and, once Redis is
back, removes those marks it set for jobs it is not running, so the jobs
run again at once. Jobs arq gives up on (undecodable, unknown function, past
their last try after crashes) go to the dead letters, not away.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Sequence
from typing import Any, cast

import arq.worker
import orjson
from arq.connections import ArqRedis
from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    retry_key_prefix,
)
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.exceptions import RedisError

from domain.errors import ServiceUnavailableError
from infra.logs import get_logger
from infra.redaction import redact_text
from infra.redis_client import RedisClient
from infra.stores.dead_letters import DeadLetters
from infra.stores.keys import QueueKeys
from worker.claims import CLAIM_SCRIPT, Claimed, StartedJob, claim_arguments, parse_claims
from worker.failures import backoff

log = get_logger(__name__)

# ARGV: in-progress key prefix, this worker's token, job ids. A mark is
# removed only if this worker set it, so another worker's claim stays.
RELEASE_SCRIPT = """
local released = 0
for i = 3, #ARGV do
  if redis.call('GET', ARGV[1] .. ARGV[i]) == ARGV[2] then
    redis.call('DEL', ARGV[1] .. ARGV[i])
    released = released + 1
  end
end
return released
"""

# KEYS: the queue, arq's abort set. ARGV: the retry, in-progress and job key
# prefixes, then the ids of jobs that completed: what arq's finish_job does
# for one job (with no result kept), for many in one call.
FINISH_SCRIPT = """
for i = 4, #ARGV do
  redis.call('DEL', ARGV[1] .. ARGV[i], ARGV[2] .. ARGV[i], ARGV[3] .. ARGV[i])
end
redis.call('ZREM', KEYS[2], unpack(ARGV, 4, #ARGV))
redis.call('ZREM', KEYS[1], unpack(ARGV, 4, #ARGV))
return #ARGV - 3
"""

# What Redis being away looks like, from redis-py or from chatmem's clients.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, ServiceUnavailableError)
REDIS_ERRORS_OR_STOP: tuple[type[BaseException], ...] = (*REDIS_ERRORS, asyncio.CancelledError)
# Waits between polls while Redis is away: from a quarter second up to five.
REDIS_RETRY_BASE_S = 0.25
REDIS_RETRY_MAX_S = 5.0


def describe_arguments(args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """What arq's per-job log line shows of a job's arguments: their size only.

    arq prints the start of their repr, which is user data (values written to
    the store) and, for a job of many ops, costly to build on every run.
    """
    if len(args) == 1 and isinstance(args[0], list):
        return f"{len(args[0])} ops"
    return f"{len(args)} arguments"


# arq's run_job calls the function it imported by name; replacing it there is
# the only way to keep job contents out of its log lines.
arq.worker.args_to_string = describe_arguments  # type: ignore[attr-defined]


def _error(exc: BaseException) -> str:
    return redact_text(str(exc)) or type(exc).__name__


class StoreWorker(Worker):
    """arq's Worker with batched claiming, Redis outage recovery and dead letters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claim: Any = None
        self._release: Any = None
        self._token = uuid.uuid4().hex
        # Jobs this worker may hold an in-progress mark for without running them.
        self._unsettled: set[str] = set()
        self._dead_letters: DeadLetters | None = None
        self._outage_since: float | None = None
        self._outage_polls = 0
        self._finish: Any = None
        # Jobs completed in this turn of the loop, and the call that will finish them.
        self._finishing: list[str] = []
        self._finisher: asyncio.Task[None] | None = None
        # The claim's answers to the pipeline the next run_job opens first.
        self._started: StartedJob | None = None

    @property
    def pool(self) -> ArqRedis:
        """arq's Redis client; for the first call of a job claimed here, the claim's answers.

        run_job begins with ``self.pool.pipeline(...)`` before it ever
        awaits, so the answers set just before it starts reach that call and
        no other.
        """
        started = self._started
        if started is not None:
            self._started = None
            return cast(ArqRedis, started)
        return cast(ArqRedis, self._pool)

    @property
    def dead_letters(self) -> DeadLetters:
        """The dead letters of this worker's queue."""
        if self._dead_letters is None:
            redis = RedisClient(self.pool, str(self.ctx.get("redis_url", "redis")))
            self._dead_letters = DeadLetters(redis, QueueKeys(self.queue_name))
        return self._dead_letters

    async def _poll_iteration(self) -> None:
        """One poll; when Redis is away, wait and let the next poll try again."""
        try:
            if self._unsettled:
                await self._release_unsettled()
            await super()._poll_iteration()
        except REDIS_ERRORS as exc:
            await self._wait_for_redis(exc)
            return
        if self._outage_since is not None:
            down_s = time.monotonic() - self._outage_since
            log.info("worker_redis_restored", down_s=round(down_s, 2), polls=self._outage_polls)
            self._outage_since = None
            self._outage_polls = 0

    async def _wait_for_redis(self, exc: BaseException) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
        self._outage_polls += 1
        delay = backoff(self._outage_polls, REDIS_RETRY_BASE_S, REDIS_RETRY_MAX_S)
        log.warning(
            "worker_redis_unavailable",
            error=_error(exc),
            polls=self._outage_polls,
            retry_in_s=round(delay, 2),
        )
        await asyncio.sleep(delay)

    async def _release_unsettled(self) -> None:
        if self._release is None:
            self._release = self.pool.register_script(RELEASE_SCRIPT)
        ids = [job_id for job_id in self._unsettled if job_id not in self.tasks]
        args = [in_progress_key_prefix, self._token, *ids]
        released = await self._release(args=args) if ids else 0
        self._unsettled.difference_update(ids)
        if released:
            log.info("store_jobs_released", jobs=int(released))

    async def run_job(self, job_id: str, score: int, started: StartedJob | None = None) -> None:
        """arq's run_job; an error of arq's own (not the job's) never ends the worker."""
        try:
            self._started = started
            await super().run_job(job_id, score)
        except REDIS_ERRORS as exc:
            # Its in-progress mark is released once Redis answers: it runs again then.
            self._unsettled.add(job_id)
            log.warning("store_job_interrupted", job_id=job_id, error=_error(exc))
        except asyncio.CancelledError:
            # Stopped before arq could settle it: close() releases its mark.
            self._unsettled.add(job_id)
            raise
        except Exception as exc:
            log.error("store_job_crashed", job_id=job_id, error=_error(exc))
            with contextlib.suppress(*REDIS_ERRORS):
                await self._bury(job_id, 0, f"the worker could not run the job: {_error(exc)}")

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        """arq's finish_job; completed jobs of one turn of the loop are finished in one call.

        arq removes each job's keys in a transaction of its own: five replies
        to read, per job, when jobs complete by the hundred at every commit.
        Retries (and anything that keeps a result) still go through arq.
        """
        if not finish or result_data or keep_in_progress is not None:
            await super().finish_job(
                job_id,
                finish,
                result_data,
                result_timeout_s,
                keep_result_forever,
                incr_score,
                keep_in_progress,
            )
            return
        self._finishing.append(job_id)
        if self._finisher is None:
            self._finisher = self.loop.create_task(self._finish_completed())
        await self._finisher

    async def _finish_completed(self) -> None:
        # One turn of the loop: the other jobs of the commit that just ended join in.
        await asyncio.sleep(0)
        job_ids, self._finishing, self._finisher = self._finishing, [], None
        if self._finish is None:
            self._finish = self.pool.register_script(FINISH_SCRIPT)
        prefixes = [retry_key_prefix, in_progress_key_prefix, job_key_prefix]
        await self._finish(keys=[self.queue_name, abort_jobs_ss], args=[*prefixes, *job_ids])

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        """A job arq gives up on before running it goes to the dead letters with its ops."""
        tries, reason = _failure(result_data)
        await self._bury(job_id, tries, reason)

    async def _bury(self, job_id: str, tries: int, reason: str) -> None:
        burials = await self.dead_letters.bury_job(job_id, tries, reason)
        kinds = sorted({burial.kind for burial in burials})
        log.error(
            "store_job_dead_lettered",
            job_id=job_id,
            kinds=kinds,
            entries=len(burials),
            error=reason,
        )

    async def close(self) -> None:
        """arq's close, without failing when Redis is away: the shutdown hook still runs."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        with contextlib.suppress(*REDIS_ERRORS):
            # Jobs claimed or started but cut off by the stop run again at once elsewhere.
            await self._release_unsettled()
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*REDIS_ERRORS):
            await self.pool.aclose(close_connection_pool=True)
        self._pool = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Claim as many of ``job_ids`` as there are free slots, and run them."""
        candidates = [job_id for job_id in map(bytes.decode, job_ids) if job_id not in self.tasks]
        while candidates:
            free = self.max_jobs - self.job_counter
            if free <= 0:
                return
            batch, candidates = candidates[:free], candidates[free:]
            try:
                claimed = await self._claim_jobs(batch)
            except REDIS_ERRORS_OR_STOP:
                # The script may have run and only its reply been lost (or not awaited).
                self._unsettled.update(batch)
                raise
            for claim in claimed:
                # The semaphore and the counter are arq's bookkeeping of running jobs.
                await self.sem.acquire()
                self.job_counter += 1
                task = self.loop.create_task(self.run_job(claim.job_id, claim.score, claim.started))
                task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[claim.job_id] = task

    async def _claim_jobs(self, job_ids: list[str]) -> list[Claimed]:
        if self._claim is None:
            self._claim = self.pool.register_script(CLAIM_SCRIPT)
        # With aborts allowed, run_job's first pipeline asks more than the claim answers.
        start = not self.allow_abort_jobs
        ttl_ms = int(self.in_progress_timeout_s * 1000)
        args = claim_arguments(timestamp_ms(), ttl_ms, self._token, start, job_ids)
        reply = await self._claim(keys=[self.queue_name], args=args)
        return parse_claims(reply, start)


def _failure(result_data: bytes | None) -> tuple[int, str]:
    """The try and the reason arq recorded for a job it failed without running it."""
    try:
        result = orjson.loads(result_data or b"")
        tries = result.get("t")
        reason = str(result.get("r") or "")
    except (orjson.JSONDecodeError, AttributeError):
        return 0, "arq failed the job before running it"
    tries = tries if isinstance(tries, int) and not isinstance(tries, bool) else 0
    return tries, f"arq gave up on the job: {reason}" if reason else "arq gave up on the job"
