"""The producer side of the write queue: validated writes to arq jobs, grouped when busy.

A write is accepted once one script call in Redis has given it a version,
recorded it as pending (read-your-writes) and put it in an arq job. When no
call is in flight the write goes at once; writes arriving while one is in
flight wait and leave together in the next job, so a busy producer makes
few large jobs instead of many small ones, and an idle one adds no delay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import RedisError

from domain.errors import InvalidWriteError
from infra.redis_client import RedisClient
from infra.stores.jobs import (
    MAX_BYTES_PER_JOB,
    MAX_OPS_PER_JOB,
    MAX_WRITE_BYTES,
    delete_fragment,
    put_fragment,
)
from infra.stores.keys import QueueKeys
from infra.stores.scripts import (
    EncodedWrite,
    JobIds,
    LuaScript,
    enqueue_call,
    enqueue_script,
)
from infra.stores.validation import (
    DEFAULT_MAX_VALUE_BYTES,
    encode_value,
    validate_key,
    validate_namespace,
    validate_ttl,
)
from infra.stores.writes import namespace_text

_Waiting = tuple[EncodedWrite, "asyncio.Future[None]"]


def encode_put(
    namespace: Any,
    key: Any,
    value: Mapping[str, Any],
    ttl: Any,
    *,
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
) -> EncodedWrite:
    """A put checked by the store rules and encoded once; InvalidWriteError if refused."""
    labels = validate_namespace(namespace)
    key = validate_key(key)
    minutes = validate_ttl(ttl)
    encoded = encode_value(value, max_bytes=max_value_bytes)
    return _bounded(labels, key, put_fragment(labels, key, encoded, minutes))


def encode_delete(namespace: Any, key: Any) -> EncodedWrite:
    """A delete checked as PostgresStore checks one (the worker checks it again)."""
    labels = validate_namespace(namespace, for_write=False)
    key = validate_key(key)
    return _bounded(labels, key, delete_fragment(labels, key))


def _bounded(labels: tuple[str, ...], key: str, fragment: bytes) -> EncodedWrite:
    # Long namespace labels are allowed one by one; together they must still fit a job.
    if len(fragment) > MAX_WRITE_BYTES:
        raise InvalidWriteError(
            f"the write is {len(fragment)} bytes as JSON; a write is at most {MAX_WRITE_BYTES}"
        )
    return EncodedWrite(namespace_text(labels), key, fragment)


class WriteProducer:
    """Puts encoded writes on one arq queue, one Redis round trip per group."""

    def __init__(
        self,
        redis: RedisClient,
        keys: QueueKeys,
        *,
        max_ops_per_job: int = MAX_OPS_PER_JOB,
        max_bytes_per_job: int = MAX_BYTES_PER_JOB,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._script = LuaScript(redis.redis, enqueue_script(keys))
        self._max_ops = max_ops_per_job
        self._max_bytes = max_bytes_per_job
        self._busy = False
        self._waiting: list[_Waiting] = []
        self._drainer: asyncio.Task[None] | None = None
        self._in_flight: list[_Waiting] = []
        self._job_ids = JobIds()
        self.jobs_enqueued = 0

    async def submit(self, write: EncodedWrite) -> None:
        """Return once Redis has accepted ``write``; ServiceUnavailableError if it did not."""
        if self._busy:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append((write, done))
            await done
            return
        self._busy = True
        try:
            await self._enqueue((write,))
        finally:
            self._hand_over()

    async def submit_many(self, writes: Sequence[EncodedWrite]) -> None:
        """Return once Redis has accepted every write; they leave in as few jobs as fit."""
        if len(writes) == 1:
            await self.submit(writes[0])
            return
        loop = asyncio.get_running_loop()
        waiting = [(write, loop.create_future()) for write in writes]
        self._waiting.extend(waiting)
        if not self._busy:
            self._busy = True
            self._hand_over()
        await asyncio.gather(*(done for _, done in waiting))

    def _hand_over(self) -> None:
        if self._waiting:
            self._drainer = asyncio.create_task(self._drain())
            self._drainer.add_done_callback(self._drained)
        else:
            self._busy = False

    async def _drain(self) -> None:
        while True:
            # One turn of the loop first: the producers whose writes were just
            # accepted queue their next ones, and leave in this group, not the next.
            await asyncio.sleep(0)
            if not self._waiting:
                self._busy = False
                return
            self._in_flight = self._take_group()
            try:
                await self._enqueue([write for write, _ in self._in_flight])
            except Exception as exc:
                _settle(self._in_flight, exc)
            else:
                _settle(self._in_flight, None)
            self._in_flight = []

    def _drained(self, task: asyncio.Task[None]) -> None:
        if self._drainer is task:  # a write arriving just after may have started another
            self._drainer = None
        if task.cancelled() or task.exception() is not None:
            # Cancelled (the loop is closing), perhaps before it ever ran: nobody
            # may wait for ever.
            stranded, self._in_flight, self._waiting = self._in_flight + self._waiting, [], []
            _settle(stranded, asyncio.CancelledError())
            self._busy = False

    def _take_group(self) -> list[_Waiting]:
        size = 0
        count = 0
        for write, _ in self._waiting:
            size += len(write.fragment)
            if count and (count >= self._max_ops or size > self._max_bytes):
                break
            count += 1
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    async def _enqueue(self, writes: Sequence[EncodedWrite]) -> None:
        job_id = self._job_ids.next()
        keys, args = enqueue_call(self._keys, job_id, writes)
        try:
            await self._script(keys, args)
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
        self.jobs_enqueued += 1

    async def aclose(self) -> None:
        """Wait for writes already handed over to be accepted (or refused)."""
        drainer = self._drainer
        if drainer is not None:
            with contextlib.suppress(Exception):
                await drainer


def _settle(group: list[_Waiting], error: BaseException | None) -> None:
    for _, done in group:
        if not done.done():
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)
