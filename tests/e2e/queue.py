"""The test's side of a worker's queue: a producer, raw Redis access, and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_put
from infra.stores.scripts import new_job_id

NS = ("users", "u1")


@dataclass
class Queue:
    """The test's side of a queue: a producer, raw Redis access, and PostgreSQL."""

    redis: RedisClient
    keys: QueueKeys
    producer: WriteProducer
    database_url: str

    async def job_ids(self) -> list[str]:
        return [m.decode() for m in await self.redis.redis.zrange(self.keys.queue, 0, -1)]

    async def put(self, key: str, value: dict[str, object]) -> str:
        """Queue a put with no worker running yet; the id of the job that carries it."""
        await self.producer.submit(encode_put(NS, key, value, None))
        return (await self.job_ids())[-1]

    async def job_bytes(self, job_id: str) -> bytes:
        raw = await self.redis.redis.get(self.keys.job(job_id))
        assert raw is not None
        return bytes(raw)

    async def enqueue_raw(self, payload: bytes) -> str:
        """Put a job in the queue exactly as the README's job contract shows."""
        job_id = new_job_id()
        await self.redis.redis.set(self.keys.job(job_id), payload)
        await self.redis.redis.zadd(self.keys.queue, {job_id: int(time.time() * 1000)})
        return job_id

    async def wait_done(self, *job_ids: str) -> None:
        """Wait until arq has removed the jobs (it does once they finished or failed)."""
        async with asyncio.timeout(20):
            for job_id in job_ids:
                while True:
                    if not await self.redis.redis.exists(self.keys.job(job_id)):
                        break
                    await asyncio.sleep(0.05)

    async def row(self, key: str) -> asyncpg.Record | None:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetchrow(
                "SELECT value::text AS value, version, xmin::text AS xmin "
                "FROM chatmem_store WHERE key = $1",
                key,
            )
        finally:
            await conn.close()
