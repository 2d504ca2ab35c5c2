"""The load test's composition root: servers, workers, producers, drain, figures, loss check.

    async with LoadTest(options, settings) as test:
        await test.produce()     # sessions write on the schedule
        await test.drain()       # until every acknowledged write is committed
        report = await test.finish()   # workers stopped, statistics, loss check

Leaving the block removes what the run left (unless keep_data) and stops
what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from redis.exceptions import RedisError

from domain.errors import ConfigurationError
from infra.redis_client import RedisClient
from infra.services import Endpoints, ServiceResolver
from infra.settings import Settings
from infra.stores.keys import QueueKeys
from worker.loadtest import cleanup, pgstats
from worker.loadtest.check import LossCheck
from worker.loadtest.handles import ChildProducer, LocalProducer, ProducerHandle, Target
from worker.loadtest.monitor import Point, QueueMonitor, point
from worker.loadtest.options import LoadTestOptions
from worker.loadtest.producer import ProducerResult, ProducerSpec
from worker.loadtest.report import Measured, Report, build_report
from worker.loadtest.workers import (
    WORKER_COMMAND,
    CommitCounts,
    WorkerProcess,
    commit_counts,
    start_worker,
    stop_workers,
)
from worker.loadtest.workload import new_run_tag

TICK_S = 0.25
QUEUE_WORKER_COMMAND = (sys.executable, "-m", "worker.loadtest.queue_worker")
# Children import chatmem and open their store before the schedule starts.
START_DELAY_S = 0.2

OnTick = Callable[[list[Point], str], None]


class LoadTest:
    """One run of the load test; see the module's docstring for its phases."""

    def __init__(
        self, options: LoadTestOptions, settings: Settings, *, on_tick: OnTick | None = None
    ) -> None:
        self.options = options
        self.settings = settings
        self.tag = new_run_tag()
        self.external = options.external_workers
        queue = settings.queue_name if self.external else f"chatmem:loadtest:{self.tag}"
        self.keys = QueueKeys(queue)
        self._on_tick = on_tick
        self._stack = contextlib.AsyncExitStack()
        self._workers: list[WorkerProcess] = []
        self._handles: list[ProducerHandle] = []
        self.points: list[Point] = []
        self._results: list[ProducerResult] = []
        self._start_wall = 0.0
        self._produced_wall: float | None = None
        self._drained_wall: float | None = None
        self._transactions_before: int | None = None
        self._log_dir: Path | None = None
        self._last_tick = 0.0

    async def __aenter__(self) -> LoadTest:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _open(self) -> None:
        self.endpoints = await self._resolve()
        self.redis = RedisClient.from_url(self.endpoints.redis_url)
        self._stack.push_async_callback(self.redis.aclose)
        self.monitor = QueueMonitor(self.redis, self.keys, self.tag, own_queue=not self.external)
        self._stack.push_async_callback(self._remove_leftovers)
        if self.external:
            await self._require_running_workers()
        else:
            await self._start_workers()
        target = Target(self.endpoints.redis_url, self.endpoints.database_url, self.keys.queue)
        handle_type = LocalProducer if self.options.processes == 1 else ChildProducer
        for process in range(self.options.processes):
            handle = handle_type(self._spec(process), target)
            self._handles.append(handle)
            self._stack.push_async_callback(handle.close)
        await asyncio.gather(*(h.prepare() for h in self._handles))

    async def _resolve(self) -> Endpoints:
        # External workers persist into the database the environment names, so
        # the load test must check that one: no embedded server then.
        resolver = ServiceResolver(self.settings, allow_embedded=not self.external)
        self._stack.callback(resolver.close)
        return await resolver.resolve()

    async def _require_running_workers(self) -> None:
        health_key = self.keys.queue + cleanup.HEALTH_CHECK_SUFFIX
        try:
            alive = await self.redis.redis.exists(health_key)
        except (RedisError, OSError) as exc:
            raise self.redis.unavailable(exc) from None
        if not alive:
            raise ConfigurationError(
                "QUEUE_NAME",
                f"--external-workers, but no worker runs on queue {self.keys.queue!r} "
                f"(no {health_key} key); start `chatmem worker` with the same REDIS_URL, "
                "DATABASE_URL and QUEUE_NAME, or let the load test start workers (--workers N)",
            )

    async def _start_workers(self) -> None:
        self._log_dir = Path(tempfile.mkdtemp(prefix="chatmem-loadtest-"))
        command = WORKER_COMMAND if self.options.mode == "e2e" else QUEUE_WORKER_COMMAND
        env = {
            "REDIS_URL": self.endpoints.redis_url,
            "DATABASE_URL": self.endpoints.database_url,
            "QUEUE_NAME": self.keys.queue,
            # Each commit's log line is how the workers' statements are counted.
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
        }
        self._stack.callback(self._stop_workers)
        for n in range(self.options.workers):
            log = self._log_dir / f"worker-{n}.log"
            # One at a time: each is ready when the queue's health-check key reappears.
            worker = await asyncio.to_thread(start_worker, env, log, command=command)
            self._workers.append(worker)

    def _stop_workers(self) -> list[int]:
        # Also the exit path's: a second call finds them stopped and returns at once.
        return stop_workers(self._workers)

    def _spec(self, process: int) -> ProducerSpec:
        o = self.options
        return ProducerSpec(
            tag=self.tag,
            queue_name=self.keys.queue,
            process=process,
            processes=o.processes,
            sessions=o.sessions,
            rate=o.rate,
            writes=o.writes,
            duration=o.duration,
            start_wall=0.0,
            text_bytes=o.text_bytes,
            seed=o.seed,
            settle_timeout=o.drain_timeout,
        )

    async def produce(self) -> None:
        """Run the sessions on their schedule until every producer has finished."""
        if self.options.mode == "e2e":
            self._transactions_before = await pgstats.transactions(self.endpoints.database_url)
        self._start_wall = time.time() + START_DELAY_S
        for handle in self._handles:
            handle.begin(self._start_wall)
        results = asyncio.gather(*(h.result() for h in self._handles))
        while not results.done():
            await asyncio.wait([results], timeout=TICK_S)
            await self._tick("producing")
        self._results = list(results.result())
        self._produced_wall = time.time()

    async def drain(self) -> bool:
        """Wait until every acknowledged write is committed; False if drain_timeout ran out.

        The timeout counts from the last acknowledgement: the producers have
        spent part of it watching their sampled writes.
        """
        acks = [r.last_ack_wall for r in self._results if r.last_ack_wall is not None]
        deadline = max(acks, default=time.time()) + self.options.drain_timeout
        while not await self.monitor.drained():
            if time.time() > deadline:
                return False
            await asyncio.sleep(TICK_S / 5)
            if time.monotonic() - self._last_tick >= TICK_S:
                await self._tick("draining")
        self._drained_wall = time.time()
        await self._tick("drained")
        return True

    async def _tick(self, phase: str) -> None:
        self._last_tick = time.monotonic()
        lags = [lag for h in self._handles for lag in h.take_lags()]
        depth = await self.monitor.depth()
        progress = [h.latest for h in self._handles]
        # Rates come from counts, so while they change the point is placed
        # when they were taken; once the producers are done, they hold.
        taken = [p.at for p in progress if p.at and phase == "producing"] or [time.time()]
        now = point(sum(taken) / len(taken) - self._start_wall, progress, lags, depth)
        if phase == "drained":
            # The sampled estimate trails; once drained, every acknowledged write is committed.
            now = dataclasses.replace(now, committed=now.acked)
        self.points.append(now)
        if self._on_tick is not None:
            self._on_tick(self.points, phase)

    async def finish(self) -> Report:
        """Stop the workers, read PostgreSQL's and the workers' counts, check for lost writes."""
        statuses = await asyncio.to_thread(self._stop_workers) if self._workers else []
        counts: CommitCounts | None = None
        if self._workers and self.options.mode == "e2e":
            counts = commit_counts(w.log_path for w in self._workers)
        transactions = None
        if self._transactions_before is not None:
            wait = (
                pgstats.RUNNING_WORKERS_WAIT_S if self.external else pgstats.STOPPED_WORKERS_WAIT_S
            )
            after = await pgstats.transactions(self.endpoints.database_url, wait_s=wait)
            transactions = after - self._transactions_before - pgstats.OWN_TRANSACTIONS
        loss = await self._check() if self.options.mode == "e2e" else None
        measured = Measured(
            tag=self.tag,
            queue_name=self.keys.queue,
            endpoints=self.endpoints,
            results=self._results,
            points=self.points,
            start_wall=self._start_wall,
            produced_wall=self._produced_wall,
            drained_wall=self._drained_wall,
            worker_statuses=statuses,
            commit_counts=counts,
            transactions=transactions,
            loss=loss,
            worker_logs=self._log_dir,
        )
        report = build_report(self.options, measured)
        if report.ok and self._log_dir is not None:
            # Kept only when something went wrong: then they say what.
            shutil.rmtree(self._log_dir, ignore_errors=True)
            report.data["worker_logs"] = None
        return report

    async def _check(self) -> LossCheck:
        loss = LossCheck()
        for handle in self._handles:
            loss.merge(await handle.check())
        return loss

    async def _remove_leftovers(self) -> None:
        if not self.options.keep_data and self.options.mode == "e2e":
            with contextlib.suppress(Exception):
                await cleanup.delete_rows(self.endpoints.database_url, self.tag)
        if not self.external:
            with contextlib.suppress(RedisError, OSError):
                await cleanup.delete_queue(self.redis, self.keys, self.tag)


async def run_loadtest(
    options: LoadTestOptions, settings: Settings, *, on_tick: OnTick | None = None
) -> Report:
    """Run every phase of one load test; the report says what happened."""
    async with LoadTest(options, settings, on_tick=on_tick) as test:
        await test.produce()
        await test.drain()
        return await test.finish()
