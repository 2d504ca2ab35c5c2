"""Find the Redis and PostgreSQL to use: the configured ones, the local ones, or embedded.

Rules: a variable that is set must answer, or the caller gets a clear error
naming it; never a silent fallback. An unset variable means the local default
port; when nothing answers there and the caller allows it (the demo, the
tests), an embedded server is started. The worker does not allow it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from domain.errors import ConfigurationError, ServiceUnavailableError
from infra.embedded import EmbeddedServers
from infra.postgres_client import PROBE_ERRORS
from infra.redaction import redact_text, redact_url
from infra.redis_client import Health, RedisClient
from infra.settings import Settings

Source = Literal["environment", "local default", "embedded"]


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The URLs chosen, and where each came from."""

    redis_url: str
    database_url: str
    redis_source: Source
    postgres_source: Source


async def probe_redis(url: str, connect_timeout: float = 1.5) -> Health:
    """Whether Redis at ``url`` answers, and its version."""
    client = RedisClient.from_url(url, connect_timeout=connect_timeout)
    try:
        return await asyncio.wait_for(client.health(), connect_timeout + 1)
    except TimeoutError:
        return Health(False, redact_url(url), error=f"no answer within {connect_timeout:g}s")
    finally:
        await client.aclose()


async def probe_postgres(url: str, connect_timeout: float = 3.0) -> Health:
    """Whether PostgreSQL at ``url`` answers, and its version.

    A server that answers but lacks the database counts as reachable, with the
    problem in ``error``: ``ensure_database`` can create it.
    """
    try:
        conn = await asyncpg.connect(url, timeout=connect_timeout)
    except asyncpg.exceptions.InvalidCatalogNameError as exc:
        return Health(True, redact_url(url), version=None, error=redact_text(str(exc)))
    except PROBE_ERRORS as exc:
        return Health(False, redact_url(url), error=redact_text(str(exc)) or type(exc).__name__)
    try:
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return Health(True, redact_url(url), version=f"postgresql {version}")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def ensure_database(url: str) -> None:
    """Create the database ``url`` names when the server answers but lacks it."""
    database = urlsplit(url).path.lstrip("/")
    if not database:
        return
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except asyncpg.exceptions.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return
    admin = await asyncpg.connect(_with_database(url, "postgres"), timeout=5)
    try:
        quoted = '"' + database.replace('"', '""') + '"'
        # Another process may create it first.
        with contextlib.suppress(asyncpg.exceptions.DuplicateDatabaseError):
            await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


class ServiceResolver:
    """Picks the Redis and PostgreSQL for one entry point; may start embedded ones."""

    def __init__(
        self,
        settings: Settings,
        *,
        allow_embedded: bool,
        local_redis_url: str | None = None,
        local_database_url: str | None = None,
    ) -> None:
        self._settings = settings
        self._allow_embedded = allow_embedded
        self._local_redis_url = local_redis_url or settings.redis_target
        self._local_database_url = local_database_url or settings.database_target
        self.embedded = EmbeddedServers()

    async def resolve(self) -> Endpoints:
        """Choose both endpoints, starting embedded servers where allowed and needed."""
        redis_url, redis_source = await self._redis()
        database_url, pg_source = await self._postgres()
        return Endpoints(redis_url, database_url, redis_source, pg_source)

    async def _redis(self) -> tuple[str, Source]:
        configured = self._settings.redis_url
        if configured is not None:
            health = await probe_redis(configured)
            if not health.ok:
                raise ServiceUnavailableError(
                    "Redis", f"REDIS_URL={health.target}", health.error or "no answer"
                )
            return configured, "environment"
        local = self._local_redis_url
        if (await probe_redis(local)).ok:
            return local, "local default"
        self._refuse_embedded("REDIS_URL", "Redis", local)
        return await asyncio.to_thread(self.embedded.start_redis), "embedded"

    async def _postgres(self) -> tuple[str, Source]:
        configured = self._settings.database_url
        if configured is not None:
            health = await probe_postgres(configured)
            if not health.ok or health.version is None:
                raise ServiceUnavailableError(
                    "PostgreSQL", f"DATABASE_URL={health.target}", health.error or "no answer"
                )
            return configured, "environment"
        local = self._local_database_url
        if (await probe_postgres(local)).ok:
            await ensure_database(local)
            return local, "local default"
        self._refuse_embedded("DATABASE_URL", "PostgreSQL", local)
        return await asyncio.to_thread(self.embedded.start_postgres), "embedded"

    def _refuse_embedded(self, variable: str, service: str, local: str) -> None:
        if not self._allow_embedded:
            raise ConfigurationError(
                variable,
                f"unset, and no {service} answers at {redact_url(local)}; "
                f"set {variable} to the {service} this process must use",
            )

    def close(self) -> None:
        """Stop the embedded servers this resolver started, if any."""
        self.embedded.stop()
