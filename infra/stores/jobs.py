"""The job contract: how store writes travel from producers to workers through arq.

One arq job ``persist_store_writes`` carries one or more ops in its single
argument, a JSON list::

    {"op": "put" | "delete", "namespace": ["users", "u1"], "key": "k",
     "value": {...} | null, "ttl": minutes | null,
     "version": int, "written_at": microseconds since the epoch (UTC)}

arq's job envelope is JSON too (orjson, never pickle). A job in Redis is
untrusted input: ``deserialize_job`` checks the envelope and its size,
``decode_job`` every op with the same rules as the producer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from domain.errors import InvalidWriteError, MalformedJobError
from domain.models import StoreWrite
from infra.stores.validation import (
    DEFAULT_MAX_VALUE_BYTES,
    MAX_KEY_CHARS,
    MAX_NAMESPACE_DEPTH,
    RESERVED_ROOT,
    encode_value,
    validate_key,
    validate_namespace,
    validate_ttl,
)

FUNCTION_NAME = "persist_store_writes"
# Lua numbers are doubles: versions stay below 2**53 so the scripts compare them exactly.
MAX_VERSION = 2**53 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_WRITTEN_AT_US = 253_402_300_799_000_000  # 9999-12-31
_MAX_ENQUEUE_MS = _MAX_WRITTEN_AT_US // 1000

# Bounds of one job. The producer groups at most MAX_OPS_PER_JOB ops and
# MAX_BYTES_PER_JOB of op JSON into a job, and refuses a write whose op JSON
# exceeds MAX_WRITE_BYTES; a worker refuses a job beyond MAX_OPS_PER_JOB ops
# or MAX_JOB_BYTES in all (the envelope and versions on top of the ops).
MAX_OPS_PER_JOB = 512
MAX_BYTES_PER_JOB = 4 * 1024 * 1024
MAX_WRITE_BYTES = 2 * 1024 * 1024
MAX_JOB_BYTES = MAX_BYTES_PER_JOB + 1024 * 1024

# arq's envelope around the ops list; the enqueue script fills in "et" and the ops.
JOB_HEAD = b'{"t":null,"f":"' + FUNCTION_NAME.encode() + b'","k":{},"et":'
JOB_OPS_OPEN = b',"a":[['
JOB_TAIL = b"]]}"


def put_fragment(namespace: Sequence[str], key: str, value: bytes, ttl: float | None) -> bytes:
    """A put op as JSON without its closing brace; the script appends version and written_at.

    ``value`` is the already encoded (and validated) JSON object.
    """
    return b"".join(
        (
            b'{"op":"put","namespace":',
            orjson.dumps(list(namespace)),
            b',"key":',
            orjson.dumps(key),
            b',"value":',
            value,
            b',"ttl":',
            orjson.dumps(ttl),
        )
    )


def delete_fragment(namespace: Sequence[str], key: str) -> bytes:
    """A delete op as JSON without its closing brace."""
    return b"".join(
        (
            b'{"op":"delete","namespace":',
            orjson.dumps(list(namespace)),
            b',"key":',
            orjson.dumps(key),
            b',"value":null,"ttl":null',
        )
    )


def complete_op(fragment: bytes, version: int, written_at_us: int) -> bytes:
    """The op JSON the enqueue script builds from a fragment (used where Lua is not)."""
    return fragment + b',"version":%d,"written_at":%d}' % (version, written_at_us)


def encode_op(write: StoreWrite) -> bytes:
    """One op as JSON, the way the enqueue script writes it."""
    if write.is_delete:
        fragment = delete_fragment(write.namespace, write.key)
    else:
        fragment = put_fragment(
            write.namespace, write.key, orjson.dumps(write.value), write.ttl_minutes
        )
    return complete_op(fragment, write.version, to_epoch_us(write.written_at))


def to_epoch_us(moment: datetime) -> int:
    """A timezone-aware datetime as whole microseconds since the epoch."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_epoch_us(micros: int) -> datetime:
    """Microseconds since the epoch as a UTC datetime, exactly."""
    return _EPOCH + timedelta(microseconds=micros)


# The ops of one job share their written_at (one script call wrote them all),
# and the jobs of one commit have a few between them: converted once each.
_written = functools.lru_cache(maxsize=256)(from_epoch_us)


def serialize_job(data: dict[str, Any]) -> bytes:
    """arq's job_serializer: orjson; an exception in a job result becomes its text."""
    return orjson.dumps(data, default=_describe)


def deserialize_job(data: bytes) -> dict[str, Any]:
    """arq's job_deserializer: orjson, within MAX_JOB_BYTES, an envelope arq can run safely.

    Anything arq would trip over later (a try count that is not a number, an
    argument list that is not a list) is refused here, where arq treats it as
    an undecodable job instead of failing in its own loop.
    """
    if len(data) > MAX_JOB_BYTES:
        raise ValueError(f"a job is at most {MAX_JOB_BYTES} bytes; this one is {len(data)}")
    decoded = orjson.loads(data)
    if not isinstance(decoded, dict):
        raise TypeError(f"a job is a JSON object; got {type(decoded).__name__}")
    _check_envelope(decoded)
    return decoded


def _check_envelope(job: dict[str, Any]) -> None:
    if not isinstance(job.get("f"), str):
        raise TypeError('a job names its function in "f", a string')
    if not isinstance(job.get("a"), list) or not isinstance(job.get("k"), dict):
        raise TypeError('a job has a list of arguments "a" and an object "k"')
    try_ = job.get("t")
    if try_ is not None and (isinstance(try_, bool) or not isinstance(try_, int) or try_ < 0):
        raise TypeError('a job\'s "t" is null or a whole number')
    et = job.get("et")
    if isinstance(et, bool) or not isinstance(et, int) or not 0 <= et <= _MAX_ENQUEUE_MS:
        raise TypeError('a job\'s "et" is its enqueue time in milliseconds since the epoch')
    if job["f"] == FUNCTION_NAME and (len(job["a"]) != 1 or job["k"]):
        raise TypeError(f"{FUNCTION_NAME} takes one argument, the list of ops")


def _describe(obj: Any) -> str:
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {obj}"
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def decode_ops(ops: Any, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> list[StoreWrite]:
    """The ops of a job, each checked against the contract, or MalformedJobError."""
    _check_ops_list(ops)
    return [_decode_op(op, index, max_value_bytes) for index, op in enumerate(ops)]


@dataclass(frozen=True, slots=True)
class InvalidOp:
    """An op of a job that breaks the contract: where it was, what it was, and why."""

    index: int
    op: Any
    reason: str


@dataclass(frozen=True, slots=True)
class DecodedJob:
    """A job's ops: the valid writes, and the ops that must never be executed."""

    writes: list[StoreWrite]
    invalid: list[InvalidOp]


def decode_job(ops: Any, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> DecodedJob:
    """Each op checked on its own: one bad op does not condemn the others of its job.

    MalformedJobError when the argument itself is wrong (not a non-empty list
    of at most MAX_OPS_PER_JOB ops).
    """
    _check_ops_list(ops)
    writes: list[StoreWrite] = []
    invalid: list[InvalidOp] = []
    for index, op in enumerate(ops):
        try:
            writes.append(_decode_op(op, index, max_value_bytes))
        except MalformedJobError as exc:
            invalid.append(InvalidOp(index, op, exc.reason))
    return DecodedJob(writes, invalid)


def _check_ops_list(ops: Any) -> None:
    if not isinstance(ops, list):
        raise MalformedJobError(f"the argument is a list of ops; got {type(ops).__name__}")
    if not ops:
        raise MalformedJobError("the job carries no ops")
    if len(ops) > MAX_OPS_PER_JOB:
        raise MalformedJobError(f"a job carries at most {MAX_OPS_PER_JOB} ops; got {len(ops)}")


def _decode_op(op: Any, index: int, max_value_bytes: int) -> StoreWrite:
    write = _plainly_valid(op, max_value_bytes)
    if write is not None:
        return write
    return _checked_op(op, index, max_value_bytes)


def _plainly_valid(op: Any, max_value_bytes: int) -> StoreWrite | None:
    """The write of an op that passes every rule by a few cheap tests, else None.

    Every op of every job is checked; this is the same rules as _checked_op,
    tested on the whole namespace at once instead of label by label. An op it
    cannot vouch for (a ttl, a non-ASCII label, any doubt) goes through
    _checked_op, which accepts it or says what is wrong.
    """
    if type(op) is not dict:
        return None
    labels, key = op.get("namespace"), op.get("key")
    version, written_at = op.get("version"), op.get("written_at")
    if (
        type(labels) is not list
        or type(key) is not str
        or type(version) is not int
        or type(written_at) is not int
        or not 0 < len(labels) <= MAX_NAMESPACE_DEPTH
        or not 0 < len(key) <= MAX_KEY_CHARS
        or not 0 < version <= MAX_VERSION
        or not 0 < written_at <= _MAX_WRITTEN_AT_US
        or not all(labels)
    ):
        return None
    try:
        text = ".".join(labels)
    except TypeError:  # a label that is not a string
        return None
    # No label holds a '.' when the joined text has exactly one between each two;
    # ASCII text has no lone surrogate.
    if (
        text.count(".") != len(labels) - 1
        or "\x00" in text
        or "\x00" in key
        or not text.isascii()
        or not key.isascii()
    ):
        return None
    kind, value = op.get("op"), op.get("value")
    if op.get("ttl") is not None:
        return None
    if kind == "put":
        if labels[0] == RESERVED_ROOT or type(value) is not dict:
            return None
        try:
            encoded = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):
            return None
        # encode_value's tests on the encoded value; a "null" may stand for a
        # NaN or an infinity (values built in Python), which encode_value rules on.
        if len(encoded) > max_value_bytes or b"\\u0000" in encoded or b"null" in encoded:
            return None
    elif kind != "delete" or value is not None:
        return None
    return StoreWrite(kind, tuple(labels), key, value, None, version, _written(written_at))


def _checked_op(op: Any, index: int, max_value_bytes: int) -> StoreWrite:
    if not isinstance(op, Mapping):
        raise MalformedJobError(f"an op is a JSON object; got {type(op).__name__}", index)
    kind = op.get("op")
    try:
        # The reserved root label bars puts only, as in PostgresStore.
        namespace = validate_namespace(op.get("namespace"), for_write=kind == "put")
        key = validate_key(op.get("key"))
        if kind == "put":
            value = op.get("value")
            encode_value(value, max_bytes=max_value_bytes)
            ttl = validate_ttl(op.get("ttl"))
        elif kind == "delete":
            if op.get("value") is not None or op.get("ttl") is not None:
                raise InvalidWriteError("a delete carries neither value nor ttl")
            value, ttl = None, None
        else:
            raise InvalidWriteError(f'"op" is "put" or "delete"; got {kind!r}')
    except InvalidWriteError as exc:
        raise MalformedJobError(str(exc), index) from None
    version = _whole_number(op.get("version"), "version", index, high=MAX_VERSION)
    written_at = _whole_number(op.get("written_at"), "written_at", index, high=_MAX_WRITTEN_AT_US)
    return StoreWrite(kind, namespace, key, value, ttl, version, from_epoch_us(written_at))


def _whole_number(value: Any, name: str, index: int, *, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedJobError(f'"{name}" is a whole number; got {type(value).__name__}', index)
    if not 0 < value <= high:
        raise MalformedJobError(f'"{name}" is between 1 and {high}; got {value}', index)
    return value
