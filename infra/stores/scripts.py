"""The Lua scripts of the write queue and the KEYS/ARGV they are called with."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from domain.models import StoreWrite
from infra.stores.jobs import JOB_HEAD, JOB_OPS_OPEN, JOB_TAIL
from infra.stores.keys import QueueKeys
from infra.stores.writes import namespace_text


def _source(name: str) -> str:
    return resources.files("infra.stores").joinpath(name).read_text()


_TRIPLES = _source("triples.lua")
_ENQUEUE = _source("enqueue.lua")
_FORGET = _source("forget.lua")
_CLEAR_PENDING = _source("clear_pending.lua")
_DEAD_LETTER = _source("dead_letter.lua")
_REPLAY = _source("replay.lua")


def _lua_string(text: str | bytes) -> str:
    """A Lua string literal holding ``text`` exactly (every unsafe byte escaped)."""
    data = text.encode() if isinstance(text, str) else text
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-.{}, "
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in data) + '"'


def _constants(**values: str | bytes) -> str:
    return "".join(f"local {name} = {_lua_string(value)}\n" for name, value in values.items())


def _job_constants(keys: QueueKeys) -> str:
    # arq's envelope around "et" and the ops, and the prefix of the pending hashes.
    return _constants(
        JOB_HEAD=JOB_HEAD,
        JOB_OPS=JOB_OPS_OPEN,
        JOB_TAIL=JOB_TAIL,
        ENTRIES=keys.pending_entries(""),
    )


def enqueue_script(keys: QueueKeys) -> str:
    """The enqueue script of one queue: its constants, then triples.lua and enqueue.lua.

    The queue's keys are constants of the script, not KEYS: every argument
    costs the client an encoding and Redis a Lua string on each call, and
    this call is every write's.
    """
    names = _constants(
        VERSION_KEY=keys.version_counter,
        QUEUE_KEY=keys.queue,
        PENDING_KEY=keys.pending_namespaces,
        JOB_KEY_PREFIX=keys.job(""),
    )
    return _job_constants(keys) + names + _TRIPLES + _ENQUEUE


def clear_pending_script(keys: QueueKeys) -> str:
    """The compare-and-delete script of one queue."""
    constants = _constants(ENTRIES=keys.pending_entries(""))
    return constants + _TRIPLES + _FORGET + _CLEAR_PENDING


def dead_letter_script(keys: QueueKeys) -> str:
    """The script that buries writes (and may drop their job) for one queue."""
    constants = _constants(ENTRIES=keys.pending_entries(""))
    return constants + _TRIPLES + _FORGET + _DEAD_LETTER


def replay_script(keys: QueueKeys) -> str:
    """The script that puts dead-lettered ops back on one queue."""
    return _job_constants(keys) + _REPLAY


ScriptArgs = list[str | bytes | int]


@dataclass(frozen=True, slots=True)
class EncodedWrite:
    """A validated write, encoded once: its namespace as stored and its op fragment."""

    namespace_text: str
    key: str
    fragment: bytes


class LuaScript:
    """A Lua script called by its SHA1, and loaded again when the server lacks it.

    redis-py's Script does the same through a few more layers per call; this
    is on every write's path.
    """

    def __init__(self, redis: aioredis.Redis, source: str) -> None:
        self._redis = redis
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[str], args: ScriptArgs) -> Any:
        """EVALSHA; on NOSCRIPT (a restarted or flushed server) SCRIPT LOAD, then again."""
        command = ("EVALSHA", self._sha, len(keys), *keys, *args)
        try:
            return await self._redis.execute_command(*command)  # type: ignore[no-untyped-call]
        except NoScriptError:
            await self._redis.script_load(self._source)
            return await self._redis.execute_command(*command)  # type: ignore[no-untyped-call]


def new_job_id() -> str:
    """A job id no other job has (arq's job keys are global to the Redis database)."""
    return uuid.uuid4().hex


class JobIds:
    """Unique job ids, cheaper than a uuid each: a random prefix of its own and a count.

    Made by each producer after any fork, so two processes never share a prefix.
    """

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex[:20]
        self._count = itertools.count()

    def next(self) -> str:
        """The next id: the prefix and a hexadecimal counter."""
        return f"{self._prefix}{next(self._count):x}"


def enqueue_call(
    keys: QueueKeys, job_id: str, writes: Sequence[EncodedWrite]
) -> tuple[list[str], ScriptArgs]:
    """KEYS (none: the queue's keys are in the script) and ARGV of the enqueue script."""
    fields: list[bytes] = []
    for write in writes:
        fields += [write.namespace_text.encode(), write.key.encode(), write.fragment]
    return [], [job_id, b"\0".join(fields)]


def clear_call(keys: QueueKeys, committed: Iterable[StoreWrite]) -> tuple[list[str], ScriptArgs]:
    """KEYS and ARGV of the compare-and-delete script for committed writes."""
    return [keys.pending_namespaces], [settled_triples(committed)]


def settled_triples(writes: Iterable[StoreWrite]) -> bytes:
    """The (namespace text, key, version) triples of settled writes, as the scripts take them."""
    fields: list[bytes] = []
    for write in writes:
        fields += [
            namespace_text(write.namespace).encode(),
            write.key.encode(),
            b"%d" % write.version,
        ]
    return b"\0".join(fields)
