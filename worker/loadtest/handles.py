"""The coordinator's side of a producer: in this process, or a child process over JSON lines.

Both keep the producer's latest counts and the lags it reported, hand over
its result once it has finished, and run its loss check when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson

from infra.stores.queued import QueuedStore
from worker.loadtest.check import LossCheck
from worker.loadtest.producer import ProducerNode, ProducerResult, ProducerSpec, Progress

CHILD_COMMAND = (sys.executable, "-m", "worker.loadtest.child")
# A result line carries histograms: far more than asyncio's default 64 KiB line limit.
LINE_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Target:
    """Where producers write: the servers and the queue."""

    redis_url: str
    database_url: str
    queue_name: str


def open_store(target: Target) -> contextlib.AbstractAsyncContextManager[QueuedStore]:
    """A producer's QueuedStore: writes only, so one PostgreSQL connection at most, no sweeper."""
    return QueuedStore.from_url(
        target.redis_url,
        target.database_url,
        queue_name=target.queue_name,
        max_pool_size=1,
        sweep=False,
    )


class ProducerHandle:
    """A producer as the coordinator sees it; subclasses run it somewhere."""

    def __init__(self, spec: ProducerSpec, target: Target) -> None:
        self.spec = spec
        self.target = target
        self.latest = Progress()
        self._lags: list[float] = []

    def on_progress(self, progress: Progress) -> None:
        """Keep the counts; collect the lags until take_lags."""
        self._lags.extend(progress.lags_ms)
        self.latest = progress

    def take_lags(self) -> list[float]:
        """Lags (ms) reported since the last call."""
        lags, self._lags = self._lags, []
        return lags

    async def prepare(self) -> None:
        """Get ready to produce (open the store; start the child and wait until it is ready)."""
        raise NotImplementedError

    def begin(self, start_wall: float) -> None:
        """Start producing; slot 0 falls due at ``start_wall`` (time.time())."""
        raise NotImplementedError

    async def result(self) -> ProducerResult:
        """Wait until the producer has finished; what it measured."""
        raise NotImplementedError

    async def check(self) -> LossCheck:
        """The loss check of the producer's writes."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release whatever the producer holds."""
        raise NotImplementedError


class LocalProducer(ProducerHandle):
    """A producer on this process's event loop."""

    async def prepare(self) -> None:
        """Open the store."""
        self._stack = contextlib.AsyncExitStack()
        self._store = await self._stack.enter_async_context(open_store(self.target))
        self._task: asyncio.Task[ProducerResult] | None = None

    def begin(self, start_wall: float) -> None:
        """Start the sessions."""
        self.node = ProducerNode(replace(self.spec, start_wall=start_wall), self._store)
        self._task = asyncio.create_task(self.node.run(self.on_progress))

    async def result(self) -> ProducerResult:
        """Wait for the sessions and the sampled commits."""
        assert self._task is not None, "begin() first"
        return await self._task

    async def check(self) -> LossCheck:
        """Check this producer's writes against PostgreSQL."""
        return await self.node.check(self.target.database_url)

    async def close(self) -> None:
        """Stop the sessions if still running; close the store."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stack.aclose()


class ChildProducer(ProducerHandle):
    """A producer in a child process (``python -m worker.loadtest.child``).

    The spec and the URLs go in on its stdin (never on its command line,
    where passwords would show in ps); progress, result and check come back
    as JSON lines on its stdout.
    """

    async def prepare(self) -> None:
        """Start the child, hand it its spec, wait until its store is open."""
        self._process = await asyncio.create_subprocess_exec(
            *CHILD_COMMAND,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())
        self._send({"spec": self.spec.to_json(), "target": asdict(self.target)})
        await self._reply("ready")

    def begin(self, start_wall: float) -> None:
        """Tell the child when slot 0 falls due."""
        self._send({"start_wall": start_wall})

    def _send(self, message: dict[str, object]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(orjson.dumps(message) + b"\n")

    async def _read(self) -> None:
        assert self._process.stdout is not None
        async for line in self._process.stdout:
            message = orjson.loads(line)
            if "progress" in message:
                self.on_progress(Progress.from_json(message["progress"]))
            else:
                await self._replies.put(message)
        await self._replies.put(
            {"error": f"producer process exited ({await self._process.wait()})"}
        )

    async def _reply(self, kind: str) -> Any:
        message = await self._replies.get()
        if kind not in message:
            raise RuntimeError(f"producer process {self.spec.process}: {message.get('error')}")
        return message[kind]

    async def result(self) -> ProducerResult:
        """Wait for the child's result line."""
        return ProducerResult.from_json(await self._reply("result"))

    async def check(self) -> LossCheck:
        """Ask the child to check its writes; wait for its answer."""
        self._send({"check": True})
        return LossCheck.from_json(await self._reply("check"))

    async def close(self) -> None:
        """Close the child's stdin (it exits), or kill it if it does not."""
        if self._process.returncode is None and self._process.stdin is not None:
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), timeout=10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
