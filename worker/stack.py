"""The stack the demo and the chat REPL run on: servers, a schema, a worker, both memories.

The composition root of those two commands: it resolves Redis and PostgreSQL
(embedded ones when none answers), migrates, starts a worker process on the
queue, and opens the Redis checkpointer and the queued store.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qsl, urlencode

import asyncpg
from redis.exceptions import RedisError

from domain.errors import ChatMemError
from infra.checkpointers import (
    DEFAULT_KEY_PREFIX,
    RedisCheckpointerRepository,
    RedisCheckpointSaver,
)
from infra.redis_client import RedisClient
from infra.services import Endpoints, ServiceResolver
from infra.settings import Settings
from infra.stores import QueuedStoreRepository
from worker.loadtest.workers import WorkerProcess, start_worker, stop_workers
from worker.queue_state import drained

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Names:
    """Where one run keeps its data; ``scope`` prefixes all its Redis keys when it owns them."""

    key_prefix: str
    queue_name: str
    schema: str | None
    scope: str | None = None

    @classmethod
    def for_demo(cls) -> Names:
        """Names no real data uses: a key prefix, a queue and a schema of this run."""
        run = f"{os.getpid()}{secrets.token_hex(3)}"
        scope = f"chatmem:demo:{run}:"
        return cls(f"{scope}cp", f"{scope}queue", f"chatmem_demo_{run}", scope)

    @classmethod
    def from_settings(cls, settings: Settings) -> Names:
        """The names real chat services use: QUEUE_NAME, the default prefix, the URL's schema."""
        return cls(DEFAULT_KEY_PREFIX, settings.queue_name, None)


def quiet_routine_logs(settings: Settings) -> None:
    """Keep INFO lines off an interactive command's output (LOG_LEVEL=DEBUG shows them)."""
    if settings.log_level != "DEBUG":
        level = max(logging.WARNING, logging.getLevelName(settings.log_level))
        logging.getLogger().setLevel(level)


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` with ``schema`` first on the search_path (asyncpg passes it as a setting)."""
    base, _, query = dsn.partition("?")
    params = dict(parse_qsl(query))
    params["search_path"] = schema
    return f"{base}?{urlencode(params)}"


def die_with_parent() -> Callable[[], object] | None:
    """For a child process: SIGTERM when its parent dies (Linux), so none outlives a SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Services:
    """The servers (maybe embedded) and the worker process one run owns; ``close`` ends them."""

    def __init__(self, settings: Settings) -> None:
        self.resolver = ServiceResolver(settings, allow_embedded=True)
        self.worker: WorkerProcess | None = None

    def stop_on_sigterm(self) -> None:
        """On SIGTERM, clean up as on Ctrl-C; with embedded servers, stop everything and die.

        Call it from the main thread. On real servers SIGTERM unwinds like
        Ctrl-C, so the run's schema and keys are removed and the worker
        stopped. Embedded servers are stopped at once instead (after the
        worker), as infra.embedded does, and the process dies of SIGTERM.
        """
        embedded = self.resolver.embedded
        embedded.stop_on_sigterm()
        stop_servers = signal.getsignal(signal.SIGTERM)

        def handler(signum: int, frame: FrameType | None) -> None:
            if embedded.redis_url is None and embedded.database_url is None:
                raise KeyboardInterrupt
            if self.worker is not None:
                stop_workers([self.worker], timeout=5)
            if callable(stop_servers):
                stop_servers(signum, frame)

        signal.signal(signal.SIGTERM, handler)

    async def resolve(self, *, embedded: bool) -> Endpoints:
        """The configured or local servers, or embedded ones (always when ``embedded``)."""
        if not embedded:
            return await self.resolver.resolve()
        servers = self.resolver.embedded
        redis_url = await asyncio.to_thread(servers.start_redis)
        database_url = await asyncio.to_thread(servers.start_postgres)
        return Endpoints(redis_url, database_url, "embedded", "embedded")

    def close(self) -> None:
        """Stop the worker and the embedded servers, if any."""
        if self.worker is not None:
            stop_workers([self.worker], timeout=15)
        self.resolver.close()


@dataclass(frozen=True, slots=True)
class Stack:
    """Everything a chatbot of the demo or the REPL needs, opened."""

    endpoints: Endpoints
    names: Names
    database_url: str
    checkpoints: RedisCheckpointerRepository
    stores: QueuedStoreRepository
    redis: RedisClient
    worker: WorkerProcess | None


async def _run_sql(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def remove_run_data(endpoints: Endpoints, names: Names) -> None:
    """Drop the run's schema and unlink the Redis keys under its scope (embedded servers aside)."""
    if names.schema is not None and endpoints.postgres_source != "embedded":
        await _run_sql(endpoints.database_url, f'DROP SCHEMA IF EXISTS "{names.schema}" CASCADE')
    if names.scope is not None and endpoints.redis_source != "embedded":
        async with RedisClient.from_url(endpoints.redis_url) as client:
            keys = [key async for key in client.redis.scan_iter(match=f"{names.scope}*")]
            if keys:
                await client.redis.unlink(*keys)


@asynccontextmanager
async def open_stack(
    settings: Settings,
    services: Services,
    names: Names,
    *,
    embedded: bool = False,
    with_worker: bool = True,
    keep: bool = False,
    log_dir: Path,
) -> AsyncIterator[Stack]:
    """Resolve, migrate, start the worker, open both memories; undo it all on exit.

    A run that owns its names (the demo) removes its schema and keys at the
    end unless ``keep``; on embedded servers everything goes with them anyway.
    """
    endpoints = await services.resolve(embedded=embedded)
    database_url = endpoints.database_url
    if names.schema is not None:
        await _run_sql(database_url, f'CREATE SCHEMA IF NOT EXISTS "{names.schema}"')
        database_url = with_search_path(database_url, names.schema)
    try:
        async with AsyncExitStack() as stack:
            stores = await stack.enter_async_context(
                QueuedStoreRepository.from_url(
                    endpoints.redis_url, database_url, queue_name=names.queue_name
                )
            )
            if with_worker:
                try:
                    services.worker = await asyncio.to_thread(
                        start_worker,
                        {
                            "REDIS_URL": endpoints.redis_url,
                            "DATABASE_URL": database_url,
                            "QUEUE_NAME": names.queue_name,
                            # Its commit lines are what the demo counts.
                            "LOG_LEVEL": "INFO",
                        },
                        log_dir / "worker.log",
                        ready_timeout=20,
                        preexec_fn=die_with_parent(),
                    )
                except RuntimeError as exc:
                    raise ChatMemError(f"the worker did not start: {exc}") from None
            saver = await stack.enter_async_context(
                RedisCheckpointSaver.from_url(
                    endpoints.redis_url,
                    ttl_minutes=settings.checkpoint_ttl_minutes,
                    key_prefix=names.key_prefix,
                )
            )
            redis = await stack.enter_async_context(RedisClient.from_url(endpoints.redis_url))
            try:
                yield Stack(
                    endpoints,
                    names,
                    database_url,
                    RedisCheckpointerRepository(saver),
                    stores,
                    redis,
                    services.worker,
                )
            finally:
                if services.worker is not None:
                    # What was queued last is persisted before the worker goes, if it can be.
                    with contextlib.suppress(ChatMemError, OSError, RedisError):
                        await drained(redis, names.queue_name, services.worker, within_seconds=5)
    finally:
        if services.worker is not None:
            await asyncio.to_thread(stop_workers, [services.worker], 15)
        if not keep:
            await remove_run_data(endpoints, names)
