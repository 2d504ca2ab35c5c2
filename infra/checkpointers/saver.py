"""RedisCheckpointSaver: langgraph checkpoints on plain Redis (>= 6.2) or Valkey, no modules."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypedDict, Unpack

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from infra.checkpointers.bridge import LoopBridge
from infra.checkpointers.codec import (
    EMPTY_BLOB,
    check_serde,
    checkpoint_config,
    decode_entries,
    dump_typed,
    dump_write,
    manifest,
    uses_delta,
    write_member,
)
from infra.checkpointers.keys import (
    DEFAULT_KEY_PREFIX,
    KeyLayout,
    check_thread_id,
    configurable,
    thread_of,
)
from infra.checkpointers.store import (
    Entry,
    Lifetimes,
    StoredCheckpoint,
    StoredWrite,
    ThreadStore,
)
from infra.redis_client import RedisClient

PRUNE_STRATEGIES = ("keep_latest", "delete")


class SaverOptions(TypedDict, total=False):
    """The options ``from_url`` passes on to the constructor."""

    ttl_minutes: float | None
    refresh_on_read: bool
    key_prefix: str
    serde: SerializerProtocol | None


PAGE_SIZE = 50


class RedisCheckpointSaver(BaseCheckpointSaver[str]):
    """Checkpoints per thread in Redis, each thread expiring ``ttl_minutes`` after its last use.

    ``async with RedisCheckpointSaver.from_url(url, ttl_minutes=60) as saver:``
    The async methods are the implementation; the sync ones run them on the
    saver's loop and may only be called from other threads.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        ttl_minutes: float | None = 60.0,
        refresh_on_read: bool = True,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        serde: SerializerProtocol | None = None,
        owns_client: bool = False,
    ) -> None:
        super().__init__(serde=check_serde(serde or JsonPlusSerializer()))
        self.client = client
        self.ttl_minutes = ttl_minutes
        self.refresh_on_read = refresh_on_read
        self.keys = KeyLayout(key_prefix)
        self.store = ThreadStore(
            client, self.keys, Lifetimes.from_minutes(ttl_minutes, refresh_on_read=refresh_on_read)
        )
        self._owns_client = owns_client
        self._bridge = LoopBridge(type(self).__name__)
        # Built inside a running loop: that is the loop to serve sync calls on.
        with contextlib.suppress(RuntimeError):
            self._bridge.bind(asyncio.get_running_loop())

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_timeout: float = 2.0,
        timeout: float | None = 10.0,
        **options: Unpack[SaverOptions],
    ) -> RedisCheckpointSaver:
        """A saver with its own connection pool to ``url``, closed when the saver exits.

        A call Redis has not answered within ``timeout`` seconds (None: no
        limit) raises ServiceUnavailableError instead of holding the turn.
        """
        client = RedisClient.from_url(url, connect_timeout=connect_timeout, socket_timeout=timeout)
        return cls(client, owns_client=True, **options)

    async def setup(self) -> None:
        """Load the scripts; raises ServiceUnavailableError naming Redis if it does not answer."""
        self._bridge.bind(asyncio.get_running_loop())
        await self.store.scripts.load()

    async def aclose(self) -> None:
        """Close this saver's connections, and the client's pool if the saver opened it."""
        await self.store.scripts.aclose()
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> RedisCheckpointSaver:
        try:
            await self.setup()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- async: the implementation -------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's latest in its namespace."""
        thread_id, ns = thread_of(config)
        if checkpoint_id := get_checkpoint_id(config):
            entries = await self.store.read_members(thread_id, [f"{ns}\0{checkpoint_id}"])
        else:
            entries = await self.store.read_page(thread_id, ns, "", 1)
        tuples = decode_entries(self.serde, thread_id, entries)
        return tuples[0] if tuples else None

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints newest first; without a config, those of every thread (scans keys)."""
        if limit is not None and limit <= 0:
            return
        before_id = get_checkpoint_id(before) if before else None
        ns: str | None = None
        checkpoint_id: str | None = None
        if config is None:
            thread_ids = await self.store.thread_ids()
        else:
            thread_ids = [thread_of(config)[0]]
            ns = configurable(config).get("checkpoint_ns")
            checkpoint_id = get_checkpoint_id(config)
        remaining = limit
        for thread_id in thread_ids:
            pages = self._pages(thread_id, ns, checkpoint_id, before_id, remaining, bool(filter))
            async for entries in pages:
                for tup in decode_entries(self.serde, thread_id, entries):
                    if filter and not _matches(tup.metadata, filter):
                        continue
                    yield tup
                    if remaining is not None:
                        remaining -= 1
                        if remaining == 0:
                            return

    async def _pages(
        self,
        thread_id: str,
        ns: str | None,
        checkpoint_id: str | None,
        before_id: str | None,
        wanted: int | None,
        filtered: bool,
    ) -> AsyncIterator[list[Entry]]:
        size = PAGE_SIZE if wanted is None or filtered else min(wanted, PAGE_SIZE)
        if ns is not None and checkpoint_id is None:
            cursor = before_id or ""
            while True:
                page = await self.store.read_page(thread_id, ns, cursor, size)
                if page:
                    yield page
                if len(page) < size:
                    return
                cursor = page[-1][0].decode().rpartition("\0")[2]
        # Every namespace (or one checkpoint): order the members here, where
        # comparison is by code point, not by the server's locale.
        members = [
            m
            for m in await self.store.members(thread_id)
            if _wanted(m, ns, checkpoint_id, before_id)
        ]
        members.sort(key=lambda m: m.rpartition("\0")[2], reverse=True)
        for start in range(0, len(members), size):
            yield await self.store.read_members(thread_id, members[start : start + size])

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and the channel values that changed, in one atomic step."""
        thread_id, ns = thread_of(config)
        parent_id = configurable(config).get("checkpoint_id")
        saved = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        values = checkpoint["channel_values"]
        md = get_serializable_checkpoint_metadata(config, metadata)
        run_id = md.get("run_id")
        blobs = [
            (
                channel,
                str(version),
                dump_typed(self.serde, values[channel]) if channel in values else EMPTY_BLOB,
            )
            for channel, version in new_versions.items()
        ]
        stored = StoredCheckpoint(
            ns=ns,
            checkpoint_id=checkpoint["id"],
            checkpoint=dump_typed(self.serde, saved),
            metadata=dump_typed(self.serde, md),
            manifest=manifest(checkpoint, md, parent_id),
            run_id=str(run_id) if run_id else None,
            delta=uses_delta(checkpoint, md),
            blobs=blobs,
        )
        await self.store.put(thread_id, stored)
        return checkpoint_config(thread_id, ns, checkpoint["id"])

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes for a checkpoint; repeating a write does not duplicate it."""
        thread_id, ns = thread_of(config)
        checkpoint_id = configurable(config).get("checkpoint_id")
        if not checkpoint_id:
            raise ValueError("put_writes needs config['configurable']['checkpoint_id']")
        stored = []
        for idx, (channel, value) in enumerate(writes):
            index = WRITES_IDX_MAP.get(channel, idx)
            member = write_member(ns, checkpoint_id, task_id, index)
            value_bytes = dump_write(self.serde, task_path, channel, value)
            stored.append(StoredWrite(member, value_bytes, replace=index < 0))
        if stored:
            await self.store.put_writes(thread_id, stored)

    async def adelete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread (its keys, without scanning)."""
        await self.store.delete([check_thread_id(thread_id)])

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints and writes of these runs, in whichever threads they are."""
        if isinstance(run_ids, str):
            raise TypeError("run_ids must be a sequence of run IDs, not a str")
        if run_ids:
            await self.store.delete_runs([str(r) for r in run_ids])

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread to another."""
        source, target = check_thread_id(source_thread_id), check_thread_id(target_thread_id)
        if source != target:
            await self.store.copy(source, target)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the latest checkpoint per namespace ("keep_latest") or none ("delete")."""
        if isinstance(thread_ids, str):
            raise TypeError("thread_ids must be a sequence of thread IDs, not a str")
        if strategy not in PRUNE_STRATEGIES:
            raise ValueError(f"Unknown prune strategy: {strategy!r}")
        threads = [check_thread_id(t) for t in thread_ids]
        if not threads:
            return
        if strategy == "delete":
            await self.store.delete(threads)
        else:
            await self.store.keep_latest(threads)

    # --- sync: the same, from another thread ---------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Sync aget_tuple; call it from a thread other than the saver's loop."""
        return self._bridge.run("get_tuple", self.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Sync alist; call it from a thread other than the saver's loop."""
        items = self.alist(config, filter=filter, before=before, limit=limit)
        return self._bridge.iterate("list", items)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Sync aput; call it from a thread other than the saver's loop."""
        return self._bridge.run("put", self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Sync aput_writes; call it from a thread other than the saver's loop."""
        self._bridge.run("put_writes", self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        """Sync adelete_thread; call it from a thread other than the saver's loop."""
        self._bridge.run("delete_thread", self.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Sync adelete_for_runs; call it from a thread other than the saver's loop."""
        self._bridge.run("delete_for_runs", self.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Sync acopy_thread; call it from a thread other than the saver's loop."""
        self._bridge.run("copy_thread", self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Sync aprune; call it from a thread other than the saver's loop."""
        self._bridge.run("prune", self.aprune(thread_ids, strategy=strategy))

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Versions as langgraph's own savers make them: a counter, then a random tiebreak."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"


def _matches(metadata: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    return all(metadata.get(key) == value for key, value in filter.items())


def _wanted(member: str, ns: str | None, checkpoint_id: str | None, before_id: str | None) -> bool:
    member_ns, _, member_id = member.rpartition("\0")
    return (
        (ns is None or member_ns == ns)
        and (checkpoint_id is None or member_id == checkpoint_id)
        and (before_id is None or member_id < before_id)
    )
