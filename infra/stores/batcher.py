"""Group commit inside one process: the writes of concurrent callers share one statement.

A caller that finds the batcher idle is committed at once (on the next turn
of the event loop, together with whatever else arrived in that turn). While
``max_inflight`` commits are running, new writes wait and go out together
with the next free commit, so many concurrent writers cost one round trip
and one transaction per group instead of one each.

Waiting writes are shared out among the commits free to take them: with two
in flight, one group is being committed while the callers of the other
prepare their next writes, instead of all callers waiting on one commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from infra.logs import get_logger

W = TypeVar("W")
log = get_logger(__name__)


@dataclass(slots=True)
class _Entry(Generic[W]):
    writes: Sequence[W]
    done: asyncio.Future[None]


class WriteBatcher(Generic[W]):
    """Merges concurrent ``submit`` calls into calls of ``commit`` with all their writes.

    ``commit`` gets the writes in submission order (a later write of the same
    key comes later). When a merged commit fails, each caller's writes are
    retried alone, so an error reaches only the caller whose write caused it.
    """

    def __init__(
        self,
        commit: Callable[[list[W]], Awaitable[None]],
        *,
        max_inflight: int = 2,
        max_batch: int = 5000,
    ) -> None:
        if max_inflight < 1 or max_batch < 1:
            raise ValueError("max_inflight and max_batch are at least 1")
        self._commit = commit
        self._max_inflight = max_inflight
        self._max_batch = max_batch
        self._waiting: list[_Entry[W]] = []
        self._running = 0
        self._idle = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.commits = 0

    async def submit(self, writes: Sequence[W]) -> None:
        """Return once ``writes`` are committed, or raise what committing them raised."""
        if not writes:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Entry(writes, done))
        if self._running < self._max_inflight:
            self._running += 1
            self._idle += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await done

    async def wait_idle(self) -> None:
        """Wait until every submitted write is committed (or has failed)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._take()
                self._idle -= 1
                try:
                    await self._run(group)
                finally:
                    self._idle += 1
        finally:
            self._running -= 1
            self._idle -= 1

    def _take(self) -> list[_Entry[W]]:
        share = -(-len(self._waiting) // max(self._idle, 1))
        taken, size = 0, 0
        for entry in self._waiting[:share]:
            if taken and size + len(entry.writes) > self._max_batch:
                break
            taken += 1
            size += len(entry.writes)
        group, self._waiting = self._waiting[:taken], self._waiting[taken:]
        # A caller cancelled before its commit started no longer wants it.
        return [entry for entry in group if not entry.done.done()]

    async def _run(self, group: list[_Entry[W]]) -> None:
        try:
            await self._commit_group(group)
        finally:
            # Only a cancellation of this task leaves callers unsettled; they see it too.
            for entry in group:
                if not entry.done.done():
                    entry.done.cancel()

    async def _commit_group(self, group: list[_Entry[W]]) -> None:
        if not group:
            return
        try:
            await self._commit([w for entry in group for w in entry.writes])
            self.commits += 1
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0], exc)
                return
            log.debug("store_group_commit_split", callers=len(group), error=type(exc).__name__)
            for entry in group:
                await self._commit_alone(entry)
            return
        for entry in group:
            _settle(entry, None)

    async def _commit_alone(self, entry: _Entry[W]) -> None:
        try:
            await self._commit(list(entry.writes))
            self.commits += 1
        except Exception as exc:
            _settle(entry, exc)
        else:
            _settle(entry, None)


def _settle(entry: _Entry[W], error: Exception | None) -> None:
    if entry.done.done():
        return
    if error is None:
        entry.done.set_result(None)
    else:
        entry.done.set_exception(error)
