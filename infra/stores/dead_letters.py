"""Dead letters: the store writes the workers gave up on, kept in a Redis stream.

The stream ``<QUEUE_NAME>:dead-letters`` holds one entry per op (its JSON),
or per job that could not be decoded at all (its raw payload), with the job
id, the kind of failure, the error, the tries and the time. Nothing trims it:
an entry stays until ``chatmem dlq replay`` puts its op back on the queue or
``chatmem dlq purge`` deletes it. Burying a write also forgets its pending
entry (compare-and-delete by version), so reads stop showing a write that
will never land.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from redis.exceptions import RedisError

from domain.errors import InvalidWriteError, MalformedJobError
from domain.models import StoreWrite
from infra import metrics
from infra.redaction import redact_text
from infra.redis_client import RedisClient
from infra.stores.jobs import (
    FUNCTION_NAME,
    MAX_JOB_BYTES,
    MAX_VERSION,
    DecodedJob,
    InvalidOp,
    decode_job,
    deserialize_job,
    encode_op,
)
from infra.stores.keys import QueueKeys
from infra.stores.scripts import LuaScript, ScriptArgs, dead_letter_script, settled_triples
from infra.stores.validation import validate_key, validate_namespace
from infra.stores.writes import namespace_text

# rejected: PostgreSQL refused the write for good. invalid: the op breaks the
# job contract. malformed: the job as a whole could not be decoded (payload
# kept). exhausted: still failing after the last try, or dropped by arq.
Kind = Literal["rejected", "invalid", "malformed", "exhausted"]
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Burial:
    """One entry to add: an op's JSON (``body_name`` "op") or a job's raw "payload".

    ``ident`` is the op's (namespace text, key, version) triple when it has a
    usable one: its pending entry is forgotten with the burial.
    """

    job_id: str
    kind: Kind
    error: str
    tries: int
    body_name: Literal["op", "payload"]
    body: bytes
    full_size: int | None = None
    ident: bytes | None = None

    @classmethod
    def of_write(cls, job_id: str, tries: int, kind: Kind, write: StoreWrite, error: str) -> Burial:
        """A valid write that will not land."""
        return cls(
            job_id, kind, error, tries, "op", encode_op(write), None, settled_triples([write])
        )

    @classmethod
    def of_invalid(cls, job_id: str, tries: int, invalid: InvalidOp) -> Burial:
        """An op that breaks the job contract, as it was found."""
        reason = f"op {invalid.index}: {invalid.reason}"
        body = orjson.dumps(invalid.op)
        return cls(job_id, "invalid", reason, tries, "op", body, None, pending_ident(invalid.op))

    def arguments(self, failed_at: str) -> ScriptArgs:
        """The eight script arguments of this entry (see dead_letter.lua)."""
        error = redact_text(self.error)[:MAX_ERROR_CHARS]
        size = b"" if self.full_size is None else b"%d" % self.full_size
        return [
            self.job_id,
            self.kind,
            error,
            self.tries,
            failed_at,
            self.body_name,
            self.body,
            size,
        ]


def now_text() -> str:
    """The time of a burial as stored: ISO 8601, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def decode_stored_job(raw: bytes) -> DecodedJob:
    """A job as found in Redis, decoded as a worker would; MalformedJobError if it cannot be."""
    try:
        envelope = deserialize_job(raw)
    except (ValueError, TypeError) as exc:  # orjson's JSONDecodeError is a ValueError
        raise MalformedJobError(f"not a decodable job: {exc}") from None
    if envelope["f"] != FUNCTION_NAME:
        raise MalformedJobError(f"the job runs {envelope['f']!r}, not {FUNCTION_NAME}")
    return decode_job(envelope["a"][0])


def pending_ident(op: Any) -> bytes | None:
    """The settled-triple of an invalid op, when its namespace, key and version are usable."""
    if not isinstance(op, dict):
        return None
    version = op.get("version")
    try:
        labels = validate_namespace(op.get("namespace"), for_write=False)
        key = validate_key(op.get("key"))
    except InvalidWriteError:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version <= MAX_VERSION:
        return None
    return b"\0".join((namespace_text(labels).encode(), key.encode(), b"%d" % version))


class DeadLetters:
    """Buries writes in one queue's dead-letter stream."""

    def __init__(self, redis: RedisClient, keys: QueueKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._script = LuaScript(redis.redis, dead_letter_script(keys))

    async def bury(self, burials: Sequence[Burial], settled: Iterable[StoreWrite] = ()) -> None:
        """Add ``burials``; forget their pending entries and those of ``settled`` writes."""
        keys = [self._keys.pending_namespaces, self._keys.dead_letters]
        await self._call(keys, [_triples(burials, settled), ""], burials)

    async def bury_job(self, job_id: str, tries: int, reason: str) -> list[Burial]:
        """Bury a whole job and drop it from the queue, in one step; the entries it made.

        Its valid ops go one by one as "exhausted" with ``reason``, its invalid
        ops as "invalid"; a job that cannot be decoded goes as one raw payload
        ("malformed", cut at MAX_JOB_BYTES). A job already gone makes nothing.
        """
        job_key = self._keys.job(job_id)
        try:
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                pipe.getrange(job_key, 0, MAX_JOB_BYTES - 1)
                pipe.strlen(job_key)
                raw, size = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
        burials = _job_burials(job_id, tries, reason, bytes(raw), int(size)) if size else []
        keys = [
            self._keys.pending_namespaces,
            self._keys.dead_letters,
            self._keys.queue,
            job_key,
            self._keys.retry(job_id),
            self._keys.in_progress(job_id),
            self._keys.aborted(),
        ]
        written = await self._call(keys, [_triples(burials), job_id], burials)
        return burials if written else []

    async def _call(self, keys: list[str], head: ScriptArgs, burials: Sequence[Burial]) -> int:
        failed_at = now_text()
        args = list(head)
        for burial in burials:
            args += burial.arguments(failed_at)
        try:
            buried = int(await self._script(keys, args))
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
        metrics.dead_lettered(buried)
        return buried


def _triples(burials: Sequence[Burial], settled: Iterable[StoreWrite] = ()) -> bytes:
    parts = [settled_triples(settled), *(b.ident for b in burials)]
    return b"\0".join(part for part in parts if part)


def _job_burials(job_id: str, tries: int, reason: str, raw: bytes, size: int) -> list[Burial]:
    try:
        if size > len(raw):
            raise MalformedJobError(f"a job is at most {MAX_JOB_BYTES} bytes; this one is {size}")
        decoded = decode_stored_job(raw)
    except MalformedJobError as exc:
        full = size if size > len(raw) else None
        return [Burial(job_id, "malformed", exc.reason, tries, "payload", raw, full)]
    burials = [Burial.of_write(job_id, tries, "exhausted", w, reason) for w in decoded.writes]
    return burials + [Burial.of_invalid(job_id, tries, op) for op in decoded.invalid]
