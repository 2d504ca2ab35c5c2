"""One of two processes writing the same keys at once (run by test_store_processes).

    python -m tests.e2e.store_writer DSN NAME ROUNDS KEYS BARRIER_DIR

Both run setup, wait for each other at a file barrier, then write every key
in each round: one multi-row batch (in opposite key orders in the two
processes), concurrent single puts, and a delete now and then.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from langgraph.store.base import PutOp

from infra.stores.postgres import PostgresStore

NS = ("shared",)


def _barrier(directory: Path, name: str) -> None:
    (directory / f"{name}.ready").touch()
    deadline = time.monotonic() + 30
    while len(list(directory.glob("*.ready"))) < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the other writer never came")
        time.sleep(0.01)


async def main(dsn: str, name: str, rounds: int, keys: int, barrier: Path) -> None:
    """Write as described above; exits non-zero on any error (a deadlock included)."""
    order = list(range(keys)) if name == "a" else list(reversed(range(keys)))
    async with PostgresStore.from_url(dsn, sweep=False) as store:
        applied = await store.setup()
        print(f"{name} applied migrations {applied}")
        await asyncio.to_thread(_barrier, barrier, name)
        for r in range(rounds):
            value = {"by": name, "round": r}
            await store.abatch([PutOp(NS, f"k{i}", value) for i in order])
            singles = [store.aput(NS, f"k{i}", {**value, "single": True}) for i in order[:10]]
            await asyncio.gather(*singles)
            if r % 5 == 0:
                await store.adelete(NS, f"k{order[0]}")
    print(f"{name} wrote {rounds} rounds")


if __name__ == "__main__":
    dsn, name, rounds, keys, barrier = sys.argv[1:6]
    asyncio.run(main(dsn, name, int(rounds), int(keys), Path(barrier)))
