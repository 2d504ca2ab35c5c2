"""One producer process of the load test: chat sessions writing through a QueuedStore.

Sessions are asyncio tasks. Each takes the next slot of the schedule, waits
until it is due, and makes its user's next write through the store, the way
a chat service does; a session writes one thing at a time, so the last
acknowledged write of each key is known for the loss check.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from infra.postgres_client import init_connection
from infra.stores.queued import QueuedStore
from worker.loadtest.check import Ident, LossCheck, check_writes
from worker.loadtest.histogram import Histogram
from worker.loadtest.sampler import LagSampler
from worker.loadtest.schedule import Schedule
from worker.loadtest.workload import ChatSession, ChatWrite, namespace_prefix

PROGRESS_EVERY_S = 0.1
MAX_ERROR_EXAMPLES = 5


@dataclass(frozen=True)
class ProducerSpec:
    """What one producer process does; JSON-able, so a child process can be handed it."""

    tag: str
    queue_name: str
    process: int
    processes: int
    #: sessions of the whole run; this process runs every processes-th one.
    sessions: int
    rate: float | None
    writes: int | None
    duration: float | None
    #: wall-clock time (time.time()) at which slot 0 falls due, shared by all processes.
    start_wall: float
    text_bytes: int
    seed: int
    #: how long to keep watching sampled writes after the last one was acknowledged.
    settle_timeout: float

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProducerSpec:
        """The spec to_json described."""
        return cls(**data)


@dataclass
class Progress:
    """A producer's counts so far, and the lags measured since its last report."""

    due: int = 0
    started: int = 0
    acked: int = 0
    errors: int = 0
    committed: int = 0
    behind_ms: float = 0.0
    lags_ms: list[float] = field(default_factory=list)
    #: when the counts were taken (time.time()).
    at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The counts as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        """The progress to_json described."""
        return cls(**data)


@dataclass
class ProducerResult:
    """Everything a producer measured, to be merged with the other producers'."""

    started: int
    acked: int
    #: acknowledged writes of each kind: turn records, fact updates, fact deletes.
    by_kind: dict[str, int]
    errors: dict[str, int]
    error_examples: list[str]
    jobs: int
    enqueue: Histogram
    lag: Histogram
    behind: Histogram
    slots: int
    first_offset: float | None
    last_offset: float | None
    #: wall-clock time of the last acknowledgement (None when nothing was acknowledged).
    last_ack_wall: float | None
    settled: bool

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON object (histograms included)."""
        data = asdict(self)
        for name in ("enqueue", "lag", "behind"):
            data[name] = getattr(self, name).to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProducerResult:
        """The result to_json described."""
        histograms = {n: Histogram.from_json(data[n]) for n in ("enqueue", "lag", "behind")}
        return cls(**{**data, **histograms})


class ProducerNode:
    """Runs one process's sessions against ``store`` and checks their writes afterwards."""

    def __init__(self, spec: ProducerSpec, store: QueuedStore) -> None:
        self.spec = spec
        self.store = store
        start = time.monotonic() + (spec.start_wall - time.time())
        self.schedule = Schedule(
            start, spec.rate, spec.writes, spec.duration, spec.process, spec.processes
        )
        self.sampler = LagSampler(store.redis, store.keys)
        self.expected: dict[Ident, dict[str, Any] | None] = {}
        self.unverifiable: set[Ident] = set()
        self.enqueue = Histogram()
        self.behind = Histogram()
        self.started = 0
        self.acked = 0
        self.by_kind = {"turn": 0, "fact": 0, "delete": 0}
        self.errors: dict[str, int] = {}
        self.error_examples: list[str] = []
        self._behind_ms = 0.0
        self._last_ack_wall: float | None = None

    def progress(self) -> Progress:
        """The counts now, and the lags measured since the last call."""
        return Progress(
            due=self.schedule.due_by(time.monotonic()),
            started=self.started,
            acked=self.acked,
            errors=sum(self.errors.values()),
            committed=self.sampler.watermark,
            behind_ms=round(self._behind_ms, 3),
            lags_ms=[round(lag, 3) for lag in self.sampler.take_recent()],
            at=time.time(),
        )

    async def run(self, report: Callable[[Progress], None]) -> ProducerResult:
        """Run every session to the end of the schedule, then wait for the sampled commits."""
        writing_done = asyncio.Event()
        sampler = asyncio.create_task(self.sampler.run(writing_done, self.spec.settle_timeout))
        reporter = asyncio.create_task(self._report(report))
        try:
            sessions = range(self.spec.process, self.spec.sessions, self.spec.processes)
            await asyncio.gather(*(self._session(index) for index in sessions))
            writing_done.set()
            settled = await sampler
        finally:
            if not sampler.done():  # only when a session failed: nothing left to measure
                sampler.cancel()
            await _cancelled(reporter)
        report(self.progress())
        return self._result(settled)

    async def _report(self, report: Callable[[Progress], None]) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            report(self.progress())

    async def _session(self, index: int) -> None:
        session = ChatSession(
            self.spec.tag,
            self.spec.process,
            index,
            seed=self.spec.seed,
            text_bytes=self.spec.text_bytes,
        )
        while (due := self.schedule.take(time.monotonic())) is not None:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._write(session.next_write(), due)

    async def _write(self, write: ChatWrite, due: float) -> None:
        self.started += 1
        started = time.perf_counter()
        self._behind_ms = max(0.0, (time.monotonic() - due) * 1000)
        self.behind.record(self._behind_ms)
        try:
            if write.value is None:
                await self.store.adelete(write.namespace, write.key)
            else:
                await self.store.aput(write.namespace, write.key, write.value)
        except Exception as exc:
            # Not acknowledged: it may or may not have reached Redis.
            self._failed(write, exc)
            return
        self.enqueue.record((time.perf_counter() - started) * 1000)
        self.acked += 1
        self.by_kind[write.kind_name] += 1
        self._last_ack_wall = time.time()
        self.expected[write.ident] = write.value
        self.unverifiable.discard(write.ident)
        if write.is_turn:
            self.sampler.offer(write.ident, started, self.acked)

    def _failed(self, write: ChatWrite, exc: Exception) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(f"{name}: {exc}")
        self.unverifiable.add(write.ident)

    def _result(self, settled: bool) -> ProducerResult:
        return ProducerResult(
            started=self.started,
            acked=self.acked,
            by_kind=dict(self.by_kind),
            errors=dict(self.errors),
            error_examples=list(self.error_examples),
            jobs=self.store.producer.jobs_enqueued,
            enqueue=self.enqueue,
            lag=self.sampler.lags,
            behind=self.behind,
            slots=self.schedule.taken,
            first_offset=self.schedule.first_offset,
            last_offset=self.schedule.last_offset,
            last_ack_wall=self._last_ack_wall,
            settled=settled,
        )

    async def check(self, database_url: str) -> LossCheck:
        """The loss check of this process's writes (run once the queue has drained)."""
        conn = await asyncpg.connect(database_url)
        try:
            await init_connection(conn)
            prefix = namespace_prefix(self.spec.tag, self.spec.process)
            return await check_writes(conn, prefix, self.expected, self.unverifiable)
        finally:
            await conn.close()


async def _cancelled(task: asyncio.Task[None]) -> None:
    # The reporter only sleeps and calls a function: safe to cancel.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
