"""PostgresStore against langgraph's AsyncPostgresStore, measured in the same run.

Sequential put and get latency (p50/p99) and put throughput with 64
concurrent writers, on the same server and database, in interleaved rounds
(the order alternates) so that load from elsewhere hits both alike. Prints
the figures, the ratios against langgraph's store, and whether the target
holds: throughput >= 1.5x theirs at equal or better latency.

    .venv/bin/python bench/store.py [--rounds 5] [--ops 1000] [--writes 200] [--quick]

The server is found as the tests find it (REDIS_URL/DATABASE_URL, the local
defaults, else an embedded one); the benchmark works in a database of its
own and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from langgraph.store.base import BaseStore
from langgraph.store.postgres import AsyncPostgresStore

from infra.logs import configure_logging
from infra.services import ServiceResolver
from infra.settings import Settings
from infra.stores.postgres import PostgresStore

WRITERS = 64
THROUGHPUT_TARGET = 1.5
# Latency counts as equal within this margin: rounds on a shared machine jitter by more.
LATENCY_MARGIN = 1.10


@dataclass
class Figures:
    """Everything measured for one store: per round, the latencies and the throughput."""

    put_ms: list[list[float]] = field(default_factory=list)
    get_ms: list[list[float]] = field(default_factory=list)
    throughput: list[float] = field(default_factory=list)

    def latency(self, kind: str, q: float) -> float:
        """The median over rounds of each round's q-th percentile of ``kind`` (put or get).

        Per round, then the median: a stall caused by other load on the machine
        spoils one round, not the figure.
        """
        rounds = self.put_ms if kind == "put" else self.get_ms
        return statistics.median(percentile(samples, q) for samples in rounds)


def _value(i: int) -> dict[str, Any]:
    # A typical long-term memory: a short text, a few scalars, a list.
    return {"text": f"the user prefers dark mode ({i})", "score": i % 100, "tags": ["ui", "pref"]}


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def _timed(call: Callable[[], Awaitable[object]], into: list[float]) -> None:
    start = time.perf_counter()
    await call()
    into.append((time.perf_counter() - start) * 1000)


async def measure_round(
    store: BaseStore, figures: Figures, ops: int, per_writer: int, tag: str
) -> None:
    """One round: sequential puts, sequential gets of them, then 64 concurrent writers."""
    ns = ("bench", tag)
    puts: list[float] = []
    gets: list[float] = []
    for i in range(ops):
        await _timed(lambda i=i: store.aput(ns, f"k{i}", _value(i)), puts)
    for i in range(ops):
        await _timed(lambda i=i: store.aget(ns, f"k{i}"), gets)
    figures.put_ms.append(puts)
    figures.get_ms.append(gets)

    async def writer(w: int) -> None:
        """One of the concurrent writers: its puts one after the other."""
        for i in range(per_writer):
            await store.aput(("bench", tag, "w"), f"w{w}-{i}", _value(i))

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    figures.throughput.append(WRITERS * per_writer / (time.perf_counter() - start))


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@contextmanager
def _server() -> Iterator[str]:
    resolver = ServiceResolver(Settings.from_env(), allow_embedded=True)
    try:
        yield asyncio.run(resolver.resolve()).database_url
    finally:
        resolver.close()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run(
    server_url: str, rounds: int, ops: int, per_writer: int
) -> tuple[Figures, Figures, str]:
    """Both stores in a fresh database, ``rounds`` interleaved rounds; the database is dropped."""
    database = f"chatmem_bench_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{database}"')
    url = _with_database(server_url, database)
    ours, theirs = Figures(), Figures()
    try:
        async with AsyncExitStack() as stack:
            mine = await stack.enter_async_context(PostgresStore.from_url(url, sweep=False))
            await mine.setup()
            lg = await stack.enter_async_context(AsyncPostgresStore.from_conn_string(url))
            await lg.setup()
            version = await mine.client.pool.fetchval("SHOW server_version")
            warm = max(10, ops // 5), max(5, per_writer // 5)
            await measure_round(mine, Figures(), *warm, "warm-ours")
            await measure_round(lg, Figures(), *warm, "warm-theirs")
            for r in range(rounds):
                pair = [(mine, ours, "ours"), (lg, theirs, "theirs")]
                for store, figures, name in pair if r % 2 == 0 else reversed(pair):
                    await measure_round(store, figures, ops, per_writer, f"{name}-{r}")
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return ours, theirs, str(version)


def report(ours: Figures, theirs: Figures) -> tuple[list[str], bool]:
    """The result lines and whether the target is met."""
    rows = [
        (f"sequential {kind} p{q} (ms)", ours.latency(kind, q), theirs.latency(kind, q))
        for kind in ("put", "get")
        for q in (50, 99)
    ]
    lines = [f"{'':34}{'PostgresStore':>15}{'AsyncPostgresStore':>20}{'ratio':>9}"]
    for label, a, b in rows:
        lines.append(f"{label:34}{a:15.3f}{b:20.3f}{a / b:8.2f}x")
    tp_a, tp_b = statistics.median(ours.throughput), statistics.median(theirs.throughput)
    tp_ratio = tp_a / tp_b
    label = f"put throughput, {WRITERS} writers (/s)"
    lines.append(f"{label:34}{tp_a:15,.0f}{tp_b:20,.0f}{tp_ratio:8.2f}x")
    latency_ok = all(a <= b * LATENCY_MARGIN for _, a, b in rows)
    met = tp_ratio >= THROUGHPUT_TARGET and latency_ok
    lines.append(
        f"target: throughput >= {THROUGHPUT_TARGET}x at equal or better latency "
        f"(each latency ratio <= {LATENCY_MARGIN:.2f}): {'MET' if met else 'NOT MET'} "
        f"(throughput {tp_ratio:.2f}x, worst latency ratio {max(a / b for _, a, b in rows):.2f}x)"
    )
    return lines, met


def main() -> int:
    """Run the benchmark and print its result lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--ops", type=int, default=1000, help="sequential ops per round")
    parser.add_argument("--writes", type=int, default=200, help="puts per concurrent writer")
    parser.add_argument("--quick", action="store_true", help="one small round (a smoke test)")
    args = parser.parse_args()
    rounds, ops, writes = (1, 50, 10) if args.quick else (args.rounds, args.ops, args.writes)
    configure_logging("WARNING", "console")
    with _server() as server_url:
        ours, theirs, version = asyncio.run(run(server_url, rounds, ops, writes))
    print(
        f"store benchmark: PostgreSQL {version}; {rounds} interleaved rounds of {ops} sequential "
        f"puts, {ops} gets, {WRITERS} writers x {writes} puts; langgraph's AsyncPostgresStore "
        "as from_conn_string builds it"
    )
    lines, _ = report(ours, theirs)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
