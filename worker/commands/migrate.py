"""`chatmem migrate`: apply the PostgreSQL schema migrations that are missing."""

from __future__ import annotations

import argparse
import asyncio

from infra.migrations import MIGRATIONS, current_version, migrate
from infra.postgres_client import PostgresClient
from infra.services import ensure_database, probe_postgres
from infra.settings import Settings

HELP = "Apply the PostgreSQL schema migrations that are missing (safe to run concurrently)."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: DATABASE_URL (or the local default) says where."""


async def _migrate(settings: Settings) -> int:
    url = settings.database_target
    if settings.database_url is None and (await probe_postgres(url)).ok:
        await ensure_database(url)
    async with await PostgresClient.connect(url, min_size=1, max_size=1) as client:
        applied = await migrate(client.pool)
        async with client.pool.acquire() as conn:
            version = await current_version(conn)
    where = client.safe_url
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))} to {where}")
    else:
        print(f"{where} is up to date")
    print(f"schema version {version} of {len(MIGRATIONS)}")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database DATABASE_URL names (never an embedded one)."""
    return asyncio.run(_migrate(settings))
