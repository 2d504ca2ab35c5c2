"""What a checkpointer costs a chat turn: none, InMemorySaver, Redis, PostgreSQL, one run.

A turn is one ``ainvoke`` of a StateGraph over MessagesState whose one node
appends a message; 500 turns over 50 threads (10 turns each), repeated 3
times. The savers take turns in rounds of one turn per thread, in rotating
order, so load drifting on a shared machine hits them alike.
Prints turn p50/p99, each saver's overhead (its p50 minus the p50 without a
checkpointer), the ratios, the Redis bytes a thread holds after 10 turns, and
whether the targets are met:

- Redis turn p50 <= 2x InMemorySaver's;
- Redis saver overhead <= 1/4 of AsyncPostgresSaver's.

Servers are found as the tests find them (REDIS_URL / DATABASE_URL, else the
local ones, else embedded). The Redis saver writes under a key prefix of its
own and deletes every key it made; the PostgreSQL saver gets a database of its
own, dropped at the end. ``--strict`` exits 1 when a target is missed.

    .venv/bin/python bench/checkpointer.py [--turns 500] [--threads 50] [--repeat 3]
        [--loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import uvloop
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph

from infra.checkpointers import RedisCheckpointSaver
from infra.services import ServiceResolver, probe_postgres, probe_redis
from infra.settings import Settings

NONE, MEMORY = "none", "InMemorySaver"
REDIS, POSTGRES = "RedisCheckpointSaver", "AsyncPostgresSaver"
WARMUP_TURNS = 30


def reply(state: MessagesState) -> dict[str, list[AIMessage]]:
    """The graph's one node: append a message."""
    return {"messages": [AIMessage(f"reply to message {len(state['messages'])}")]}


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> Any:
    """StateGraph over MessagesState with the one node."""
    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=checkpointer)


@dataclass
class Variant:
    """One saver under test and the turn times measured with it."""

    name: str
    graph: Any
    turns: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        """The q-quantile of the turn times, in ms."""
        ordered = sorted(self.turns)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


async def run_turns(graph: Any, tag: str, first: int, turns: int, threads: int) -> list[float]:
    """Turns ``first`` .. ``first + turns - 1``, round-robin over threads named after ``tag``."""
    times = []
    for i in range(first, first + turns):
        config = {"configurable": {"thread_id": f"{tag}-{i % threads}"}}
        message = {"messages": [HumanMessage(f"message {i}")]}
        start = time.perf_counter()
        await graph.ainvoke(message, config)
        times.append(time.perf_counter() - start)
    return times


@asynccontextmanager
async def own_database(server_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database of this run on the server of ``server_url``, dropped after."""
    name = f"chatmem_bench_{uuid.uuid4().hex[:12]}"
    admin_url = urlunsplit(urlsplit(server_url)._replace(path="/postgres"))
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def remove_keys(saver: RedisCheckpointSaver) -> None:
    """Delete every key under the saver's prefix (its own: nothing else lives there)."""
    redis = saver.client.redis
    pattern = saver.keys.prefix + ":*"
    keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
    for start in range(0, len(keys), 500):
        await redis.unlink(*keys[start : start + 500])


async def bytes_per_thread(saver: RedisCheckpointSaver, thread_ids: list[str]) -> float:
    """Mean MEMORY USAGE (all samples) of each thread's keys."""
    redis = saver.client.redis
    totals = []
    for thread_id in thread_ids:
        sizes = [await redis.memory_usage(k, samples=0) for k in saver.keys.thread(thread_id)]
        totals.append(sum(s or 0 for s in sizes))
    return statistics.mean(totals)


def report(variants: dict[str, Variant], redis_bytes: float, args: argparse.Namespace) -> bool:
    """Print the table and the targets; True when both are met."""
    base = variants[NONE].p(0.5)
    memory = variants[MEMORY].p(0.5)
    header = ("turn p50", "turn p99", "overhead", "p50/none", "p50/mem")
    print("\n" + " " * 22 + "".join(f"{h:>10}" for h in header))
    for v in variants.values():
        overhead = f"{v.p(0.5) - base:8.3f}ms" if v.name != NONE else f"{'-':>10}"
        print(
            f"{v.name:22}{v.p(0.5):8.3f}ms{v.p(0.99):8.3f}ms{overhead}"
            f"{v.p(0.5) / base:9.2f}x{v.p(0.5) / memory:9.2f}x"
        )
    redis_p50 = variants[REDIS].p(0.5)
    redis_over = redis_p50 - base
    pg_over = variants[POSTGRES].p(0.5) - base
    ratio_mem = redis_p50 / memory
    ratio_pg = redis_over / pg_over if pg_over > 0 else float("inf")
    met_mem, met_pg = ratio_mem <= 2.0, ratio_pg <= 0.25
    print(f"\nRedis bytes per thread after {args.turns // args.threads} turns: {redis_bytes:,.0f}")
    print(
        f"target Redis turn p50 <= 2x InMemorySaver's: {ratio_mem:.2f}x "
        f"-> {'met' if met_mem else 'NOT met'}"
    )
    print(
        f"target Redis overhead <= 1/4 of AsyncPostgresSaver's: {redis_over:.3f} ms / "
        f"{pg_over:.3f} ms = {ratio_pg:.2f} -> {'met' if met_pg else 'NOT met'}"
    )
    return met_mem and met_pg


async def main(args: argparse.Namespace) -> int:
    """Resolve servers, measure every variant, clean up, report."""
    resolver = ServiceResolver(Settings.from_env(), allow_embedded=True)
    try:
        endpoints = await resolver.resolve()
        redis_health = await probe_redis(endpoints.redis_url)
        pg_health = await probe_postgres(endpoints.database_url)
        print(
            f"{args.turns} turns over {args.threads} threads x {args.repeat}; "
            f"{redis_health.version} ({endpoints.redis_source}), "
            f"{pg_health.version} ({endpoints.postgres_source}); python {sys.version.split()[0]}, "
            f"{args.loop} event loop"
        )
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
        async with AsyncExitStack() as stack:
            prefix = f"chatmem:bench:{uuid.uuid4().hex[:12]}"
            redis_saver = await stack.enter_async_context(
                RedisCheckpointSaver.from_url(endpoints.redis_url, key_prefix=prefix)
            )
            stack.push_async_callback(remove_keys, redis_saver)
            pg_url = await stack.enter_async_context(own_database(endpoints.database_url))
            pg_saver = await stack.enter_async_context(AsyncPostgresSaver.from_conn_string(pg_url))
            await pg_saver.setup()
            savers: dict[str, Callable[[], Any]] = {
                NONE: lambda: None,
                MEMORY: InMemorySaver,
                REDIS: lambda: redis_saver,
                POSTGRES: lambda: pg_saver,
            }
            variants = {name: Variant(name, build_graph(make())) for name, make in savers.items()}
            for v in variants.values():
                await run_turns(v.graph, "warmup", 0, WARMUP_TURNS, args.threads)
            order = list(variants.values())
            rounds = 0
            for rep in range(args.repeat):
                for first in range(0, args.turns, args.threads):
                    rounds += 1
                    for v in order[rounds % len(order) :] + order[: rounds % len(order)]:
                        size = min(args.threads, args.turns - first)
                        v.turns += await run_turns(v.graph, f"r{rep}", first, size, args.threads)
            last = [f"r{args.repeat - 1}-{t}" for t in range(args.threads)]
            redis_bytes = await bytes_per_thread(redis_saver, last)
        print(f"load average {os.getloadavg()[0]:.2f} at end")
        met = report(variants, redis_bytes, args)
    finally:
        resolver.close()
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the event loop of every saver (uvloop: what uvicorn runs chat services on)",
    )
    args = parser.parse_args()
    run = uvloop.run if args.loop == "uvloop" else asyncio.run
    sys.exit(run(main(args)))
