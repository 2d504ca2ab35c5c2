"""How far the workers are: jobs in a queue and writes not yet committed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from domain.errors import ChatMemError
from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from worker.loadtest.workers import WorkerProcess


@dataclass(frozen=True, slots=True)
class QueueState:
    """The write queue: jobs waiting and writes not yet committed (pending entries)."""

    jobs: int
    pending_writes: int

    @property
    def empty(self) -> bool:
        """Nothing waits to be persisted."""
        return self.jobs == 0 and self.pending_writes == 0


async def queue_state(client: RedisClient, queue_name: str) -> QueueState:
    """Jobs in the queue, and pending writes of the queue."""
    keys = QueueKeys(queue_name)
    redis = client.redis
    jobs = await redis.zcard(keys.queue)
    namespaces = await redis.zrange(keys.pending_namespaces, 0, -1)
    async with redis.pipeline(transaction=False) as pipe:
        for namespace in namespaces:
            pipe.hlen(keys.pending_entries(namespace.decode()))
        lengths: list[int] = await pipe.execute()
    return QueueState(int(jobs), sum(lengths))


async def drained(
    client: RedisClient, queue_name: str, worker: WorkerProcess | None, within_seconds: float
) -> QueueState:
    """Wait until the queue is empty and every write committed; ChatMemError after the time."""
    try:
        async with asyncio.timeout(within_seconds):
            state = await queue_state(client, queue_name)
            while not state.empty:
                await asyncio.sleep(0.05)
                state = await queue_state(client, queue_name)
    except TimeoutError:
        log = worker.log if worker is not None else "(no worker)"
        raise ChatMemError(
            f"the queue did not drain within {within_seconds:g}s; worker log:\n{log}"
        ) from None
    return state
