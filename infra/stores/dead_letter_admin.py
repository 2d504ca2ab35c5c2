"""Reading, replaying and purging a queue's dead letters (``chatmem dlq``).

A replay puts an op back on the queue with its original version, through
the same job format, pending entry and worker as any write, in one script
that also removes the entry: the version rule then still protects every
newer write of the key, and an entry is replayed at most once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError

from domain.errors import MalformedJobError
from domain.models import StoreWrite
from infra.redis_client import RedisClient
from infra.stores.jobs import MAX_BYTES_PER_JOB, MAX_OPS_PER_JOB, decode_ops, encode_op
from infra.stores.keys import QueueKeys
from infra.stores.scripts import JobIds, LuaScript, ScriptArgs, replay_script
from infra.stores.writes import namespace_text

PAGE = 500
# A stream entry id: milliseconds, a dash, a sequence number.
ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One entry of the dead-letter stream."""

    id: str
    job_id: str
    kind: str
    error: str
    tries: int
    failed_at: str
    op: bytes | None
    payload: bytes | None
    payload_bytes: int | None

    @classmethod
    def from_entry(cls, entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
        """An entry as XRANGE returns it."""

        def text(name: bytes) -> str:
            return fields.get(name, b"").decode(errors="replace")

        size = fields.get(b"payload_bytes")
        tries = text(b"tries")
        return cls(
            id=entry_id.decode(),
            job_id=text(b"job_id"),
            kind=text(b"kind"),
            error=text(b"error"),
            tries=int(tries) if tries.isdigit() else 0,
            failed_at=text(b"failed_at"),
            op=fields.get(b"op"),
            payload=fields.get(b"payload"),
            payload_bytes=int(size) if size is not None and size.isdigit() else None,
        )

    def write(self) -> StoreWrite:
        """The op as a write the queue takes again, or MalformedJobError saying why not."""
        if self.op is None:
            raise MalformedJobError("no op to replay: the job could not be decoded")
        try:
            [write] = decode_ops([orjson.loads(self.op)])
        except orjson.JSONDecodeError as exc:
            raise MalformedJobError(f"the op is not JSON: {exc}", 0) from None
        return write

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON-ready dict (an op as JSON; a payload as text when it is UTF-8)."""
        data: dict[str, Any] = {
            "id": self.id,
            "job_id": self.job_id,
            "kind": self.kind,
            "error": self.error,
            "tries": self.tries,
            "failed_at": self.failed_at,
        }
        if self.op is not None:
            try:
                data["op"] = orjson.loads(self.op)
            except orjson.JSONDecodeError:
                data["op_text"] = self.op.decode(errors="replace")
        if self.payload is not None:
            data["payload"] = self.payload.decode(errors="replace")
            data["payload_bytes"] = self.payload_bytes or len(self.payload)
        return data


@dataclass(slots=True)
class ReplayReport:
    """What a replay did: entries put back, refused (with the reason), not found."""

    replayed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class DeadLetterAdmin:
    """Lists, replays and purges one queue's dead letters."""

    def __init__(self, redis: RedisClient, keys: QueueKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._replay = LuaScript(redis.redis, replay_script(keys))
        self._job_ids = JobIds()

    async def count(self) -> int:
        """How many entries the stream holds."""
        return int(await self._call(self._redis.redis.xlen(self._keys.dead_letters)))

    async def entries(self, limit: int | None = None) -> list[DeadLetter]:
        """The oldest ``limit`` entries (all when None), oldest first."""
        found: list[DeadLetter] = []
        async for page in self._pages():
            found += page
            if limit is not None and len(found) >= limit:
                return found[:limit]
        return found

    async def replay(self, ids: Sequence[str] | None) -> ReplayReport:
        """Put the ops of ``ids`` (all entries when None) back on the queue."""
        report = ReplayReport()
        async for page in self._selected(ids, report):
            group: list[tuple[DeadLetter, StoreWrite, bytes]] = []
            size = 0
            for entry in page:
                try:
                    write = entry.write()
                except MalformedJobError as exc:
                    report.refused.append((entry.id, exc.reason))
                    continue
                op = encode_op(write)
                if group and (len(group) >= MAX_OPS_PER_JOB or size + len(op) > MAX_BYTES_PER_JOB):
                    await self._replay_group(group, report)
                    group, size = [], 0
                group.append((entry, write, op))
                size += len(op)
            if group:
                await self._replay_group(group, report)
        return report

    async def purge(self, ids: Sequence[str] | None) -> tuple[int, list[str]]:
        """Delete ``ids`` (all entries when None); how many went, and the ids not found."""
        stream = self._keys.dead_letters
        if ids is None:
            purged = 0
            async for page in self._pages():
                purged += int(
                    await self._call(self._redis.redis.xdel(stream, *[e.id for e in page]))
                )
            return purged, []
        missing = [entry_id for entry_id in ids if not ENTRY_ID.fullmatch(entry_id)]
        valid = [entry_id for entry_id in ids if ENTRY_ID.fullmatch(entry_id)]
        async with self._redis.redis.pipeline(transaction=False) as pipe:
            for entry_id in valid:
                pipe.xdel(stream, entry_id)
            deleted = await self._call(pipe.execute()) if valid else []
        missing += [entry_id for entry_id, n in zip(valid, deleted, strict=True) if not n]
        return len(ids) - len(missing), missing

    async def _replay_group(
        self, group: list[tuple[DeadLetter, StoreWrite, bytes]], report: ReplayReport
    ) -> None:
        job_id = self._job_ids.next()
        keys = [
            self._keys.dead_letters,
            self._keys.queue,
            self._keys.job(job_id),
            self._keys.pending_namespaces,
        ]
        args: ScriptArgs = [job_id]
        for entry, write, op in group:
            args += [entry.id, namespace_text(write.namespace), write.key, write.version, op]
        taken = {entry_id.decode() for entry_id in await self._call(self._replay(keys, args))}
        for entry, _, _ in group:
            (report.replayed if entry.id in taken else report.missing).append(entry.id)

    async def _selected(
        self, ids: Sequence[str] | None, report: ReplayReport
    ) -> AsyncIterator[list[DeadLetter]]:
        if ids is None:
            async for page in self._pages():
                yield page
            return
        report.missing += [entry_id for entry_id in ids if not ENTRY_ID.fullmatch(entry_id)]
        ids = [entry_id for entry_id in ids if ENTRY_ID.fullmatch(entry_id)]
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                for entry_id in chunk:
                    pipe.xrange(self._keys.dead_letters, entry_id, entry_id)
                found = await self._call(pipe.execute())
            found_page: list[DeadLetter] = []
            for entry_id, entries in zip(chunk, found, strict=True):
                if entries:
                    found_page.append(DeadLetter.from_entry(*entries[0]))
                else:
                    report.missing.append(entry_id)
            yield found_page

    async def _pages(self) -> AsyncIterator[list[DeadLetter]]:
        start = "-"
        while True:
            raw = await self._call(
                self._redis.redis.xrange(self._keys.dead_letters, start, "+", count=PAGE)
            )
            if not raw:
                return
            yield [DeadLetter.from_entry(entry_id, fields) for entry_id, fields in raw]
            start = "(" + raw[-1][0].decode()

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
