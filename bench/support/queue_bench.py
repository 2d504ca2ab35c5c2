"""Where bench/async_writes.py runs: its own Redis DB, PostgreSQL database and queue.

The servers are found like the tests find them (REDIS_URL / DATABASE_URL,
the local defaults, else embedded ones). Everything the benchmark creates is
removed at the end.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis

from infra.migrations import migrate
from infra.postgres_client import PostgresClient
from infra.services import ServiceResolver
from infra.settings import Settings
from tests.support import claim_redis_db, unique_name, with_database, with_redis_db
from worker.loadtest.workers import WORKER_COMMAND, WorkerProcess, start_worker

# Claimed from the top, so test sessions (which claim from 1 up) rarely wait.
BENCH_REDIS_DBS = range(15, 0, -1)


@dataclass
class BenchEnv:
    """The benchmark's own endpoints and a way to start worker processes on them."""

    redis_url: str
    database_url: str
    log_dir: Path
    # Statistics reach pg_stat_database up to a second after a backend commits.
    stats_delay: float = 1.2

    def worker_env(self, queue: str) -> dict[str, str]:
        """The environment of a worker process on this benchmark's servers."""
        return {
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "QUEUE_NAME": queue,
            "LOG_LEVEL": "WARNING",
        }

    def start_worker(self, queue: str, command: Sequence[str] = WORKER_COMMAND) -> WorkerProcess:
        """One worker process on ``queue``, ready to take jobs."""
        log = self.log_dir / f"{queue.replace(':', '_')}.log"
        return start_worker(self.worker_env(queue), log, command=command)

    async def xact_commits(self) -> int:
        """Transactions committed in the benchmark's database so far (pg_stat_database)."""
        conn = await asyncpg.connect(self.database_url)
        try:
            await asyncio.sleep(self.stats_delay)
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            value = await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
            return int(value)
        finally:
            await conn.close()

    async def reset_store(self) -> None:
        """Empty chatmem_store between scenarios."""
        conn = await asyncpg.connect(self.database_url)
        try:
            await conn.execute("TRUNCATE chatmem_store")
        finally:
            await conn.close()


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def bench_env(log_dir: Path, *, stats_delay: float = 1.2) -> AsyncIterator[BenchEnv]:
    """Claim a Redis DB, create a PostgreSQL database, migrate; undo it all at the end."""
    resolver = ServiceResolver(Settings.from_env(), allow_embedded=True)
    endpoints = await resolver.resolve()
    redis_url = with_redis_db(
        endpoints.redis_url, claim_redis_db(endpoints.redis_url, BENCH_REDIS_DBS)
    )
    name = unique_name("chatmem_bench")
    await _admin(endpoints.database_url, f'CREATE DATABASE "{name}"')
    env = BenchEnv(redis_url, with_database(endpoints.database_url, name), log_dir, stats_delay)
    try:
        async with await PostgresClient.connect(env.database_url, max_size=1) as client:
            await migrate(client.pool)
        yield env
    finally:
        client_ = redis.Redis.from_url(redis_url)
        try:
            client_.flushdb()
        finally:
            client_.close()
        await _admin(endpoints.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        resolver.close()


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of ``samples``."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]
