"""A Redis client (redis.asyncio) with a health check, a clean close and clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domain.errors import ServiceUnavailableError
from infra.redaction import redact_text, redact_url


@dataclass(frozen=True, slots=True)
class Health:
    """What a health check saw: reachable or not, the server's version, or why not."""

    ok: bool
    target: str
    version: str | None = None
    error: str | None = None


class RedisClient:
    """Owns one redis.asyncio connection pool; build it from a URL, close it once."""

    def __init__(self, redis: aioredis.Redis, url: str) -> None:
        self._redis = redis
        self.url = url

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_timeout: float = 2.0,
        socket_timeout: float | None = 10.0,
        max_connections: int | None = None,
        **kw: Any,
    ) -> RedisClient:
        """Connect lazily to ``url`` (redis://, rediss:// with TLS, or unix://).

        A command unanswered for ``socket_timeout`` seconds (None: no limit)
        fails as Redis being unavailable: a hung server does not hold callers.
        """
        redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            max_connections=max_connections,
            **kw,
        )
        return cls(redis, url)

    @property
    def redis(self) -> aioredis.Redis:
        """The underlying redis.asyncio client."""
        return self._redis

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden."""
        return redact_url(self.url)

    async def ping(self) -> None:
        """Round trip to Redis, or ServiceUnavailableError naming Redis."""
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            raise self.unavailable(exc) from None

    async def health(self) -> Health:
        """Reachability and server version (``valkey`` servers report theirs too)."""
        try:
            info: dict[str, Any] = await self._redis.info("server")
        except (RedisError, OSError) as exc:
            return Health(False, self.safe_url, error=redact_text(str(exc)) or type(exc).__name__)
        version = info.get("valkey_version") or info.get("redis_version")
        name = "valkey" if "valkey_version" in info else "redis"
        return Health(True, self.safe_url, version=f"{name} {version}")

    def unavailable(self, exc: BaseException) -> ServiceUnavailableError:
        """The error to raise when ``exc`` means Redis could not be reached."""
        reason = redact_text(str(exc)) or type(exc).__name__
        return ServiceUnavailableError("Redis", self.safe_url, reason)

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self._redis.aclose()

    async def __aenter__(self) -> RedisClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
