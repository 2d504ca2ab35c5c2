"""A PostgreSQL client (asyncpg pool, jsonb through orjson) with a health check."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeAlias

import asyncpg
import orjson

from domain.errors import ServiceUnavailableError
from infra.redaction import redact_text, redact_url
from infra.redis_client import Health

# A connection, whether opened alone or borrowed from a pool.
Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)

# What asyncpg raises when the server is away, as opposed to refusing a statement.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    TimeoutError,
)


# Probing also treats a refusal (bad password, missing role) as "does not answer".
PROBE_ERRORS: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.exceptions.PostgresError,
)


def _encode_jsonb(value: Any) -> str:
    return orjson.dumps(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: jsonb and json travel as orjson text."""
    for type_name in ("jsonb", "json"):
        await conn.set_type_codec(
            type_name,
            encoder=_encode_jsonb,
            decoder=orjson.loads,
            schema="pg_catalog",
            format="text",
        )


class PostgresClient:
    """Owns one asyncpg pool; build it from a DSN, close it once."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self.dsn = dsn

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        **kw: Any,
    ) -> PostgresClient:
        """Open a pool on ``dsn`` or raise ServiceUnavailableError naming PostgreSQL."""
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                init=init_connection,
                **kw,
            )
        except CONNECTION_ERRORS as exc:
            raise unavailable(dsn, exc) from None
        except (
            asyncpg.exceptions.InvalidCatalogNameError,
            # A wrong password, or pg_hba.conf refusing the connection (no TLS, say).
            asyncpg.exceptions.InvalidAuthorizationSpecificationError,
        ) as exc:
            raise unavailable(dsn, exc) from None
        return cls(pool, dsn)

    @property
    def pool(self) -> asyncpg.Pool:
        """The underlying asyncpg pool."""
        return self._pool

    @property
    def safe_url(self) -> str:
        """The DSN with its password hidden."""
        return redact_url(self.dsn)

    async def health(self) -> Health:
        """Reachability and server version."""
        try:
            async with self._pool.acquire(timeout=5) as conn:
                version = await conn.fetchval("SHOW server_version")
        except CONNECTION_ERRORS as exc:
            return Health(False, self.safe_url, error=redact_text(str(exc)) or type(exc).__name__)
        return Health(True, self.safe_url, version=f"postgresql {version}")

    async def close(self) -> None:
        """Close the pool, waiting for connections in use to be released."""
        await self._pool.close()

    async def __aenter__(self) -> PostgresClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def unavailable(dsn: str, exc: BaseException) -> ServiceUnavailableError:
    """The error to raise when ``exc`` means PostgreSQL could not be reached."""
    reason = redact_text(str(exc)) or type(exc).__name__
    return ServiceUnavailableError("PostgreSQL", redact_url(dsn), reason)
