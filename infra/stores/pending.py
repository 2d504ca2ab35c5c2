"""The pending writes of a queue, read back from Redis for read-your-writes.

A pending entry is the version and op JSON of the newest queued write to a
key that no commit has made durable yet (see enqueue.lua and clear_pending.lua).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson
from redis.exceptions import RedisError

from domain.errors import MalformedJobError
from domain.models import Namespace, StoreWrite
from infra.logs import get_logger
from infra.redis_client import RedisClient
from infra.stores.jobs import decode_ops
from infra.stores.keys import QueueKeys
from infra.stores.writes import namespace_text

log = get_logger(__name__)


def is_live(write: StoreWrite, now: datetime) -> bool:
    """Whether a pending write leaves a visible item: a put that has not expired."""
    if write.value is None:
        return False
    return (
        write.ttl_minutes is None or write.written_at + timedelta(minutes=write.ttl_minutes) > now
    )


def under_prefix(namespace_labels: Namespace, prefix: Namespace) -> bool:
    """Whether ``namespace_labels`` lies under ``prefix`` (whole labels)."""
    return namespace_labels[: len(prefix)] == prefix


class PendingReader:
    """Reads a queue's pending entries: by key, or all those under a namespace prefix."""

    def __init__(self, redis: RedisClient, keys: QueueKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def by_key(self, idents: Sequence[tuple[Namespace, str]]) -> list[StoreWrite | None]:
        """The pending write of each (namespace, key), None where there is none."""
        if not idents:
            return []
        try:
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                for namespace, key in idents:
                    pipe.hget(self._keys.pending_entries(namespace_text(namespace)), key)
                raw = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
        return [None if entry is None else _decode(entry) for entry in raw]

    async def under(self, prefix: Namespace) -> list[StoreWrite]:
        """Every pending write whose namespace lies under ``prefix`` (all when it is empty)."""
        text = namespace_text(prefix)
        # Members are namespace texts; "P" and "P.<more>" sort between "[P" and "(P/"
        # ('/' follows '.'); siblings such as "P-x" fall in too and are dropped below.
        low, high = (f"[{text}", f"({text}/") if prefix else ("-", "+")
        try:
            members = await self._redis.redis.zrangebylex(self._keys.pending_namespaces, low, high)
            names = [m.decode() for m in members]
            names = [n for n in names if not prefix or n == text or n.startswith(text + ".")]
            if not names:
                return []
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hvals(self._keys.pending_entries(name))
                found = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._redis.unavailable(exc) from None
        writes = (_decode(entry) for entries in found for entry in entries)
        return [w for w in writes if w is not None]


def _decode(entry: bytes) -> StoreWrite | None:
    try:
        [write] = decode_ops([orjson.loads(entry.partition(b" ")[2])])
    except (MalformedJobError, orjson.JSONDecodeError) as exc:
        # Reads go on without it; the job that carries the write is checked again.
        log.warning("pending_entry_ignored", error=str(exc))
        return None
    return write
