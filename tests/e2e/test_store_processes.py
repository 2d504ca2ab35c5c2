"""Two processes writing the same keys through PostgresStore at the same time."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUNDS, KEYS = 12, 200


async def _rows(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch("SELECT key, value::text AS value, version FROM chatmem_store")
    finally:
        await conn.close()


@pytest.mark.slow
def test_two_processes_writing_the_same_keys_neither_deadlock_nor_lose_rows(
    database_url: str, tmp_path: Path
) -> None:
    args = [str(ROUNDS), str(KEYS), str(tmp_path)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.store_writer", database_url, name, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    # Both ran setup at about the same time: one applied the schema, the other found it done.
    assert sum("applied migrations []" in out for out, _ in outputs) == 1
    rows = asyncio.run(_rows(database_url))
    assert sorted(r["key"] for r in rows) == sorted(f"k{i}" for i in range(KEYS))
    last_round = f'"round": {ROUNDS - 1}'
    # Every key ends with a write of the last round, of one process or the other.
    assert [r["key"] for r in rows if last_round not in r["value"]] == []
