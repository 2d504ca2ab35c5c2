"""What PostgreSQL counted for the load test: transactions of its database (pg_stat_database)."""

from __future__ import annotations

import asyncio

import asyncpg

TRANSACTIONS = """
SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()
"""
# The reading of the first count is a transaction of its own, counted in the second.
OWN_TRANSACTIONS = 1
# A backend that exits reports its counts at once; an idle one, within ten
# seconds (PostgreSQL's idle statistics interval).
STOPPED_WORKERS_WAIT_S = 0.5
RUNNING_WORKERS_WAIT_S = 11.0


async def transactions(database_url: str, *, wait_s: float = 0.0) -> int:
    """Transactions committed or rolled back in the database so far, after ``wait_s``."""
    await asyncio.sleep(wait_s)
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(TRANSACTIONS))
    finally:
        await conn.close()
