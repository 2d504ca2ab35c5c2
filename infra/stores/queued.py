"""QueuedStore: a langgraph store whose writes go through Redis to the workers.

A put or delete is checked by the store rules, then accepted by Redis in
one round trip (a versioned op in an arq job, and a pending entry); no
PostgreSQL on the way. Workers persist the jobs in group commits. Reads see
the pending entries laid over what PostgreSQL holds (read-your-writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal

from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    ListNamespacesOp,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
)

from domain.errors import InvalidQueryError
from domain.models import Namespace
from infra.redis_client import RedisClient
from infra.settings import DEFAULT_QUEUE_NAME
from infra.stores.keys import QueueKeys
from infra.stores.merged_reads import MergedReads
from infra.stores.ops import check_listing, check_search, readable
from infra.stores.pending import PendingReader
from infra.stores.postgres import PostgresStore
from infra.stores.producer import WriteProducer, encode_delete, encode_put
from infra.stores.scripts import EncodedWrite
from infra.stores.sync_calls import run_batch
from infra.stores.validation import DEFAULT_MAX_VALUE_BYTES


class QueuedStore(BaseStore):
    """Write-behind langgraph store: writes to Redis and an arq queue, reads merged.

    Build it with ``async with QueuedStore.from_url(redis_url, database_url)``.
    Sync methods run on the store's event loop from other threads and refuse
    to run on that loop's own thread.
    """

    supports_ttl = True

    def __init__(
        self,
        redis: RedisClient,
        postgres: PostgresStore,
        *,
        queue_name: str = DEFAULT_QUEUE_NAME,
        ttl: TTLConfig | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.redis = redis
        self.postgres = postgres
        self.keys = QueueKeys(queue_name)
        self.ttl_config = ttl
        self.max_value_bytes = max_value_bytes
        self.producer = WriteProducer(redis, self.keys)
        self._reads = MergedReads(PendingReader(redis, self.keys), postgres)

    @classmethod
    @asynccontextmanager
    async def from_url(
        cls,
        redis_url: str,
        database_url: str,
        *,
        queue_name: str = DEFAULT_QUEUE_NAME,
        ttl: TTLConfig | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        max_pool_size: int = 10,
        sweep: bool = True,
    ) -> AsyncIterator[QueuedStore]:
        """A store on its own Redis client and PostgreSQL pool, closed on exit.

        PostgreSQL need not answer: puts and deletes only need Redis, and reads
        raise ServiceUnavailableError naming PostgreSQL until it is back.
        """
        redis = RedisClient.from_url(redis_url)
        try:
            # No connection up front: writes must work while PostgreSQL is away.
            async with PostgresStore.from_url(
                database_url,
                ttl=ttl,
                max_value_bytes=max_value_bytes,
                min_size=0,
                max_size=max_pool_size,
                sweep=sweep,
            ) as postgres:
                store = cls(
                    redis,
                    postgres,
                    queue_name=queue_name,
                    ttl=ttl,
                    max_value_bytes=max_value_bytes,
                )
                try:
                    yield store
                finally:
                    await store.aclose()
        finally:
            await redis.aclose()

    async def setup(self) -> list[int]:
        """Apply the missing PostgreSQL migrations (the workers do it too)."""
        return await self.postgres.setup()

    async def aclose(self) -> None:
        """Wait for writes already handed to Redis to be accepted."""
        await self.producer.aclose()

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Queue a put; returns once Redis has accepted it (one round trip)."""
        await self.producer.submit(self._encode_put(namespace, key, value, ttl))

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        """Queue a delete; returns once Redis has accepted it."""
        await self.producer.submit(encode_delete(namespace, key))

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``abatch`` on the store's loop from another thread and wait for it."""
        return run_batch("QueuedStore", self._loop, self.abatch, ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Results in op order; reads run first, then the batch's writes leave in one job."""
        ops = list(ops)
        writes: dict[tuple[Namespace, str], EncodedWrite] = {}
        for op in ops:
            if isinstance(op, PutOp):
                writes[(tuple(op.namespace), op.key)] = self._encode(op)
            elif isinstance(op, SearchOp):
                check_search(op)
            elif isinstance(op, ListNamespacesOp):
                check_listing(op)
            elif isinstance(op, GetOp):
                readable(op.namespace, op.key)
            else:
                raise InvalidQueryError(f"unknown store operation {type(op).__name__}")
        results = await self._reads.run(ops)
        if writes:
            await self.producer.submit_many(list(writes.values()))
        return results

    def _encode(self, op: PutOp) -> EncodedWrite:
        if op.value is None:
            return encode_delete(op.namespace, op.key)
        return self._encode_put(op.namespace, op.key, op.value, op.ttl)

    def _encode_put(
        self, namespace: Any, key: Any, value: Mapping[str, Any], ttl: Any
    ) -> EncodedWrite:
        if isinstance(ttl, NotProvided):
            ttl = (self.ttl_config or {}).get("default_ttl")
        return encode_put(namespace, key, value, ttl, max_value_bytes=self.max_value_bytes)
