"""Asynchronous store writes, end to end, against the baselines of the same run.

(a) the limit: a raw asyncpg batched upsert of the same rows;
(b) naive arq: one job per write, a single-row upsert per job;
(c) PostgresStore direct, 64 concurrent writers;
(d) QueuedStore + one worker process, 64 concurrent producers.
Then a single producer's enqueue against a Redis PING from the same client
and a put through langgraph's AsyncPostgresStore, unloaded and with the
worker running. Run: ``.venv/bin/python bench/async_writes.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import tempfile

from bench.support.latency import SAMPLES, single_producer
from bench.support.naive_worker import run_naive_worker
from bench.support.queue_bench import bench_env
from bench.support.scenarios import (
    Throughput,
    naive_arq,
    postgres_store_direct,
    queued_store,
    raw_upsert,
)

PRODUCERS = 64
WRITES = PRODUCERS * 800
NAIVE_WRITES = PRODUCERS * 80
# The machine is shared: the throughput scenarios run in interleaved rounds and
# the median round of each is reported, so one noisy moment does not decide.
ROUNDS = 3


def _line(label: str, result: Throughput) -> str:
    latency = (
        f"enqueue p50 {result.p50_ms:6.3f} ms  p99 {result.p99_ms:6.3f} ms"
        if result.p50_ms is not None
        else "enqueue    -"
    )
    return (
        f"{label:<38} {result.writes:>7} writes  {result.per_second:>9,.0f} writes/s  "
        f"{latency}  {result.statements_per_write:.4f} statements/write"
    )


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _median(results: list[Throughput]) -> Throughput:
    return sorted(results, key=lambda r: r.per_second)[len(results) // 2]


async def main(quick: bool) -> int:
    """Run every scenario and print figures, ratios and whether each target is met."""
    scale, rounds_wanted, samples = (16, 1, 200) if quick else (1, ROUNDS, SAMPLES)
    writes, naive_writes = WRITES // scale, NAIVE_WRITES // scale
    rounds: dict[str, list[Throughput]] = {"a": [], "b": [], "c": [], "d": []}
    with tempfile.TemporaryDirectory(prefix="chatmem-bench-") as logs:
        # A quick run checks that everything runs, not the figures: no waiting for statistics.
        async with bench_env(Path(logs), stats_delay=0 if quick else 1.2) as env:
            for _ in range(rounds_wanted):
                rounds["a"].append(await raw_upsert(env, writes))
                rounds["b"].append(await naive_arq(env, naive_writes, PRODUCERS))
                rounds["c"].append(await postgres_store_direct(env, writes, PRODUCERS))
                rounds["d"].append(await queued_store(env, writes, PRODUCERS))
            unloaded = await single_producer(env, with_worker=False, samples=samples)
            loaded = await single_producer(env, with_worker=True, samples=samples)
    a, b, c, d = (_median(rounds[name]) for name in "abcd")
    print(f"persisted writes/s end to end, median of {rounds_wanted} interleaved rounds")
    print("(statements per write: pg_stat_database xact_commit delta of the benchmark's")
    print("own database over the number of writes; each write statement is one transaction;")
    print("CPU per write: /proc CPU time of this process (the producers), the worker, the")
    print("Redis server and the database's backends over the run, per write)")
    labels = {
        "a": "(a) raw asyncpg batched upsert",
        "b": "(b) naive arq, one job per write",
        "c": f"(c) PostgresStore, {PRODUCERS} writers",
        "d": f"(d) QueuedStore + 1 worker, {PRODUCERS} producers",
    }
    for name, label in labels.items():
        print(_line(label, _median(rounds[name])))
        print(f"{'':<38} rounds: " + " / ".join(f"{r.per_second:,.0f}" for r in rounds[name]))
        cpu = _median(rounds[name]).cpu_us
        if cpu:
            parts = ", ".join(f"{group} {us:.1f}" for group, us in cpu.items())
            print(f"{'':<38} CPU us/write: {parts}; total {sum(cpu.values()):.1f}")
    print()
    for name, timing in (("unloaded", unloaded), ("worker running", loaded)):
        print(
            f"single producer, {name}: enqueue p50 {timing.enqueue_p50_ms:.3f} ms "
            f"(p99 {timing.enqueue_p99_ms:.3f}), PING p50 {timing.ping_p50_ms:.3f} ms, "
            f"langgraph AsyncPostgresStore put p50 {timing.langgraph_p50_ms:.3f} ms"
        )
    print()
    d_over_b = d.per_second / b.per_second
    d_over_a = d.per_second / a.per_second
    vs_ping = unloaded.enqueue_p50_ms / unloaded.ping_p50_ms
    vs_langgraph = unloaded.enqueue_p50_ms / unloaded.langgraph_p50_ms
    targets = [
        (f"(d)/(b) = {d_over_b:.1f}x  (target >= 20x)", d_over_b >= 20),
        (f"(d)/(a) = {d_over_a:.0%}  (target >= 50%)", d_over_a >= 0.5),
        (f"unloaded enqueue p50 / PING p50 = {vs_ping:.2f}x  (target <= 1.5x)", vs_ping <= 1.5),
        (
            f"unloaded enqueue p50 / langgraph put p50 = {vs_langgraph:.2f}  (target <= 0.5)",
            vs_langgraph <= 0.5,
        ),
    ]
    print(f"(d)/(c) = {d.per_second / c.per_second:.2f}x (no target; PostgresStore waits for")
    print("         PostgreSQL on every put, the queued store does not)")
    for text, ok in targets:
        print(f"{text:<72} {_verdict(ok)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--naive-worker", action="store_true", help="run scenario (b)'s worker")
    parser.add_argument("--quick", action="store_true", help="small and one round (a smoke test)")
    args = parser.parse_args()
    if args.naive_worker:
        run_naive_worker()
        raise SystemExit(0)
    raise SystemExit(asyncio.run(main(args.quick)))
