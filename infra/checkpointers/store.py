"""A thread's checkpoints in Redis: the atomic steps, their TTLs, and the run index.

Each thread owns five keys sharing its ``{thread_id}`` hash tag (see
``KeyLayout``); every script and transaction works on those five only, so a
thread lives in one cluster slot and deleting it needs no scan. Each run has
one more key, listing the threads holding its checkpoints, for
``delete_runs``. A run key lives twice the thread TTL, and each step that
extends a thread reports the runs whose key was last extended more than half
a TTL ago, so a run key always outlives the threads it names (a read that
refreshes a thread may come long after a run's last write). Without a TTL,
run keys are made persistent the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from infra.checkpointers.connections import Arg, Command, pack
from infra.checkpointers.keys import (
    DELTA_FIELD,
    KeyLayout,
    blob_field,
    checkpoint_fields,
    write_field,
)
from infra.checkpointers.scripts import ScriptRunner
from infra.redis_client import RedisClient

# The score of a run whose index key was made persistent (see _thread.lua).
PERSISTED = -1

# A transaction's fixed commands, packed once.
MULTI = pack([("MULTI",)])
EXEC = pack([("EXEC",)])

# One checkpoint as read.lua returns it: member ('ns\0id'), checkpoint,
# metadata, manifest, blobs (in manifest order), write members, write values.
Entry = list[Any]


class DeltaThreadsError(NotImplementedError):
    """keep_latest was asked to prune threads whose DeltaChannel history it would cut."""

    def __init__(self, thread_ids: Iterable[str]) -> None:
        self.thread_ids = sorted(thread_ids)
        super().__init__(
            "keep_latest can't prune threads that use a DeltaChannel: " + ", ".join(self.thread_ids)
        )


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as stored: its serialized parts and the channel values that changed."""

    ns: str
    checkpoint_id: str
    checkpoint: bytes
    metadata: bytes
    manifest: bytes
    run_id: str | None
    delta: bool
    blobs: list[tuple[str, str, bytes]]


@dataclass(frozen=True, slots=True)
class StoredWrite:
    """A pending write as stored: its member name, its value, whether it replaces."""

    member: str
    value: bytes
    replace: bool


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """TTLs in ms as the scripts take them: > 0 expire, 0 never expire, < 0 leave as is."""

    write: int
    read: int
    run: int

    @classmethod
    def from_minutes(cls, ttl_minutes: float | None, *, refresh_on_read: bool) -> Lifetimes:
        """The lifetimes for a thread TTL in minutes (None: never expire)."""
        if ttl_minutes is None:
            return cls(write=0, read=0 if refresh_on_read else -1, run=0)
        if isinstance(ttl_minutes, bool) or not 0 < ttl_minutes < float("inf"):
            raise ValueError(f"ttl_minutes must be a positive number or None, got {ttl_minutes!r}")
        ms = max(1, round(ttl_minutes * 60_000))
        return cls(write=ms, read=ms if refresh_on_read else -1, run=2 * ms)


@dataclass(frozen=True, slots=True)
class ThreadKeys:
    """A thread's keys, and the commands (packed) that give each of them a write's lifetime."""

    keys: list[str]
    touch: bytes


# Threads whose keys a store keeps built: a turn makes five writes to one thread.
KNOWN_THREADS = 4096


class ThreadStore:
    """Runs the scripts on a thread's keys and keeps the run index in step."""

    def __init__(self, client: RedisClient, keys: KeyLayout, lifetimes: Lifetimes) -> None:
        self.keys = keys
        self.lifetimes = lifetimes
        self.scripts = ScriptRunner(client)
        self._redis = client.redis
        self._threads: dict[str, ThreadKeys] = {}

    def thread(self, thread_id: str) -> ThreadKeys:
        """The thread's keys and TTL commands, built once while the thread is in use."""
        known = self._threads.get(thread_id)
        if known is not None:
            return known
        if len(self._threads) >= KNOWN_THREADS:
            del self._threads[next(iter(self._threads))]
        keys = self.keys.thread(thread_id)
        ttl = self.lifetimes.write
        touch = [("PEXPIRE", key, ttl) if ttl > 0 else ("PERSIST", key) for key in keys]
        known = self._threads[thread_id] = ThreadKeys(keys, pack(touch))
        return known

    async def put(self, thread_id: str, checkpoint: StoredCheckpoint) -> None:
        """Store a checkpoint and its new blobs, and refresh the thread's TTL, atomically."""
        thread = self.thread(thread_id)
        keys = thread.keys
        ns = checkpoint.ns
        member = f"{ns}\0{checkpoint.checkpoint_id}"
        c, k, m = checkpoint_fields(member)
        hset: list[Arg] = ["HSET", keys[0], c, checkpoint.checkpoint, k, checkpoint.metadata]
        hset += (m, checkpoint.manifest)
        for channel, version, blob in checkpoint.blobs:
            hset += (blob_field(ns, channel, version), blob)
        if checkpoint.delta:
            hset += (DELTA_FIELD, "1")
        now = _now_ms()
        body: list[Command] = [tuple(hset), ("ZADD", keys[1], 0, member)]
        run_id = checkpoint.run_id
        if run_id is None:
            await self._transaction(thread_id, thread, now, body, ())
            return
        score = now if self.lifetimes.write > 0 else PERSISTED
        body += [("ZADD", keys[3], 0, f"{run_id}\0{member}"), ("ZADD", keys[4], score, run_id)]
        # The run key first: if the batch is cut short, a run key naming a
        # thread without that run is harmless; the reverse would hide it.
        await self._transaction(
            thread_id, thread, now, body, (self._run_touch(run_id, [thread_id]),)
        )

    async def put_writes(self, thread_id: str, writes: Sequence[StoredWrite]) -> None:
        """Store writes and refresh the thread's TTL, atomically.

        A regular write already stored is kept (a retried task does not
        duplicate or change it); a special one (error, interrupt, ...) is replaced.
        """
        thread = self.thread(thread_id)
        data = thread.keys[0]
        order: list[Arg] = ["ZADD", thread.keys[2]]
        replaced: list[Arg] = []
        body: list[Command] = []
        for write in writes:
            order += (0, write.member)
            if write.replace:
                replaced += (write_field(write.member), write.value)
            else:
                body.append(("HSETNX", data, write_field(write.member), write.value))
        if replaced:
            body.append(("HSET", data, *replaced))
        body.append(tuple(order))
        await self._transaction(thread_id, thread, _now_ms(), body, ())

    async def _transaction(
        self,
        thread_id: str,
        thread: ThreadKeys,
        now: int,
        body: list[Command],
        before: tuple[Command, ...],
    ) -> None:
        """Run ``body`` and the TTL refresh as one MULTI/EXEC: all of it, or none of it.

        Cheaper for Redis than a script (half the server time of a put), and
        just as atomic: a connection lost before EXEC leaves nothing behind.
        """
        ttl = self.lifetimes.write
        if ttl > 0:
            stale: Command = ("ZRANGEBYSCORE", thread.keys[4], "-inf", f"({now - ttl // 2}")
            score = now
        else:
            stale = ("ZRANGEBYSCORE", thread.keys[4], f"({PERSISTED}", "+inf")
            score = PERSISTED
        # One command per key of the thread in the packed touch.
        payload = b"".join((pack(before), MULTI, pack(body), thread.touch, pack([stale]), EXEC))
        count = len(before) + len(body) + len(thread.keys) + 3
        replies = await self.scripts.transaction(payload, count, len(before))
        if runs := replies[-1][-1]:
            await self._after_touch(thread_id, [score, runs])

    async def read_page(self, thread_id: str, ns: str, before: str, count: int) -> list[Entry]:
        """Up to ``count`` checkpoints of ``ns`` with ids below ``before``, newest first."""
        return await self._read(thread_id, ("ns", ns, before, count))

    async def read_members(self, thread_id: str, members: Sequence[str]) -> list[Entry]:
        """The named checkpoints ('ns\\0id') that exist, in the order named."""
        if not members:
            return []
        return await self._read(thread_id, ("members", *members))

    async def _read(self, thread_id: str, args: Sequence[Arg]) -> list[Entry]:
        keys = self.thread(thread_id).keys
        touched, entries = await self.scripts.run("read", keys, (self.lifetimes.read, *args))
        if touched[1]:
            await self._after_touch(thread_id, touched)
        return list(entries)

    async def members(self, thread_id: str) -> list[str]:
        """Every checkpoint of the thread as 'ns\\0id', in no useful order across namespaces."""
        async with self.scripts.unavailable_as_error():
            raw = await self._redis.zrange(self.keys.thread(thread_id)[1], 0, -1)
        return [m.decode() for m in raw]

    async def thread_ids(self) -> list[str]:
        """Every thread under the key prefix. Scans the keyspace: for administration only."""
        found: set[str] = set()
        async with self.scripts.unavailable_as_error():
            async for key in self._redis.scan_iter(match=self.keys.thread_pattern(), count=1000):
                found.add(self.keys.thread_id_of(key.decode()))
        return sorted(found)

    async def delete(self, thread_ids: Sequence[str]) -> None:
        """Remove every key of these threads, and them from their runs' keys."""
        commands = [self.scripts.command("delete", self.keys.thread(t), ()) for t in thread_ids]
        replies = await self.scripts.pipeline(commands)
        await self._forget_runs(zip(thread_ids, replies, strict=True))

    async def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Remove every checkpoint (and its writes) of these runs, in every thread."""
        lists = await self.scripts.pipeline([("SMEMBERS", self.keys.run(r)) for r in run_ids])
        runs_by_thread: dict[str, list[str]] = {}
        for run_id, threads in zip(run_ids, lists, strict=True):
            for thread in threads:
                runs_by_thread.setdefault(thread.decode(), []).append(run_id)
        commands: list[Command] = [
            self.scripts.command("drop_runs", self.keys.thread(thread), runs)
            for thread, runs in runs_by_thread.items()
        ]
        # One key per command: run keys live in different cluster slots.
        commands += [("UNLINK", self.keys.run(r)) for r in run_ids]
        await self.scripts.pipeline(commands)

    async def keep_latest(self, thread_ids: Sequence[str]) -> None:
        """Prune to the newest checkpoint per namespace; refuse up front for delta threads."""
        for stage in ("check", "keep_latest"):
            commands = [
                self.scripts.command("prune", self.keys.thread(t), (stage,)) for t in thread_ids
            ]
            replies = await self.scripts.pipeline(commands, raise_on_error=False)
            refused = [t for t, r in zip(thread_ids, replies, strict=True) if _is_delta_refusal(r)]
            for reply in replies:
                if isinstance(reply, Exception) and not _is_delta_refusal(reply):
                    raise reply
            if refused:
                raise DeltaThreadsError(refused)
        await self._forget_runs(zip(thread_ids, replies, strict=True))

    async def copy(self, source: str, target: str) -> None:
        """Add every checkpoint and write of ``source`` to ``target``."""
        dump = await self.scripts.run("dump", self.keys.thread(source), (self.lifetimes.read,))
        items, checkpoints, writes, refs, runs, touched = dump
        await self._after_touch(source, touched)
        if not checkpoints:
            return
        parts = (items, checkpoints, writes, refs, runs)
        args = (self.lifetimes.write, *(len(p) for p in parts), *(x for p in parts for x in p))
        run_ids = [r.decode() for r in runs]
        replies = await self.scripts.pipeline(
            [
                *(self._run_touch(r, [target]) for r in run_ids),
                self.scripts.command("load", self.keys.thread(target), args),
            ]
        )
        await self._after_touch(target, replies[-1])

    def _run_touch(self, run_id: str, thread_ids: Sequence[str]) -> Command:
        return self.scripts.command(
            "run_touch", [self.keys.run(run_id)], (self.lifetimes.run, *thread_ids)
        )

    async def _after_touch(self, thread_id: str, touched: list[Any]) -> None:
        """Give the run keys a thread step reported the thread's lifetime, and record it."""
        score, stale = touched
        if not stale:
            return
        runs = [r.decode() for r in stale]
        scores: list[Arg] = [x for run in runs for x in (score, run)]
        await self.scripts.pipeline(
            [
                *(self._run_touch(run, [thread_id]) for run in runs),
                # XX: never creates the key, so never a key without a TTL.
                ("ZADD", self.keys.thread(thread_id)[4], "XX", *scores),
            ]
        )

    async def _forget_runs(self, vanished: Iterable[tuple[str, list[bytes]]]) -> None:
        commands: list[Command] = [
            ("SREM", self.keys.run(run.decode()), thread_id)
            for thread_id, runs in vanished
            for run in runs
        ]
        await self.scripts.pipeline(commands)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_delta_refusal(reply: object) -> bool:
    # Redis 7 puts "ERR " before a script's error code; 6.2 and Valkey may not.
    return isinstance(reply, ResponseError) and str(reply).removeprefix("ERR ").startswith("DELTA")
