"""`chatmem loadtest` as a user runs it: its report against what landed in PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from tests.e2e.workers import ROOT, WorkerProcess
from worker.loadtest.workload import ChatSession, namespace_prefix, prefix_range

pytestmark = pytest.mark.slow

Rows = dict[tuple[str, str], Any]


def _env(redis_url: str, database_url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    return {**env, "REDIS_URL": redis_url, "DATABASE_URL": database_url, **more}


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "loadtest", "--no-live", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _loadtest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    process = _start(env, *args)
    out, err = process.communicate(timeout=180)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


async def _rows(database_url: str, tag: str) -> Rows:
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('chatmem_store') IS NOT NULL"):
            return {}
        rows = await conn.fetch(
            "SELECT namespace, key, value::text FROM chatmem_store "
            "WHERE namespace >= $1 AND namespace < $2",
            *prefix_range(namespace_prefix(tag)),
        )
    finally:
        await conn.close()
    return {(r[0], r[1]): None if r[2] is None else orjson.loads(r[2]) for r in rows}


def _replayed_writes(tag: str, user: str, rows: Rows, *, seed: int, text_bytes: int) -> int:
    """How many writes the user's session made, replayed from the seed and matched to ``rows``.

    The session's turn rows fix how many turns it had; of the writes its
    conversation could have stopped after (before its next turn), exactly
    one leaves the facts PostgreSQL holds. Asserts the stored turns and
    facts are the replayed ones, each fact at its latest value.
    """
    process, session = (int(part[1:]) for part in user.rsplit("-", 2)[1:])
    turns = {k: v for (ns, k), v in rows.items() if ns == f"users.{user}.turns"}
    facts = {k: v for (ns, k), v in rows.items() if ns == f"users.{user}.facts"}
    replay = ChatSession(tag, process, session, seed=seed, text_bytes=text_bytes)
    state: dict[str, Any] = {}
    made = seen_turns = 0
    matched: list[int] = []
    while True:
        if seen_turns == len(turns) and state == facts:
            matched.append(made)
        write = replay.next_write()
        if write.is_turn and seen_turns == len(turns):
            break
        made += 1
        if write.is_turn:
            seen_turns += 1
            assert turns[write.key] == write.value, f"turn {write.key} of {user}"
        else:
            state[write.key] = write.value
    assert len(matched) == 1, f"{user}: stored facts match no stopping point of the replay"
    return matched[0]


def test_the_report_agrees_with_what_landed_in_postgres(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    report_path, chart_path = tmp_path / "out.json", tmp_path / "out.png"
    result = _loadtest(
        _env(redis_url, database_url),
        *("--writes", "1500", "--producers", "12", "--workers", "1", "--seed", "4"),
        *("--value-bytes", "300", "--report", str(report_path), "--chart", str(chart_path)),
        "--keep-data",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lost writes" in result.stdout
    report = orjson.loads(report_path.read_bytes())
    assert report["ok"]
    assert report["lost"] == 0
    assert report["drained"]
    writes = report["writes"]
    assert writes["acknowledged"] == writes["started"] == 1500
    assert sum(writes["by_kind"].values()) == 1500

    rows = asyncio.run(_rows(database_url, report["run_tag"]))
    check = report["loss_check"]
    assert check["rows"] == check["keys"] == len(rows)
    turn_rows = [ident for ident in rows if ident[0].endswith(".turns")]
    assert len(turn_rows) == writes["by_kind"]["turn"]
    users = {ns.split(".")[1] for ns, _ in rows}
    made = sum(
        _replayed_writes(report["run_tag"], user, rows, seed=4, text_bytes=300) for user in users
    )
    assert made == 1500

    pg = report["postgres"]
    # Group commit: a few statements for many writes, each its own transaction.
    assert 1 <= pg["statements"] <= writes["jobs"]
    assert pg["statements_per_write"] < 0.5
    assert pg["transactions"] >= pg["statements"]
    latency = report["enqueue_latency"]
    assert latency["count"] == 1500
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    lag = report["end_to_end_lag"]
    assert lag["count"] > 0
    assert lag["p50_ms"] <= lag["p99_ms"]
    assert report["timeline"][-1]["acked"] == 1500
    assert chart_path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def _take_a_committed_turn_away(database_url: str, process: subprocess.Popen[str]) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        while process.poll() is None:
            if await conn.fetchval("SELECT to_regclass('chatmem_store') IS NOT NULL"):
                key = await conn.fetchval(
                    "DELETE FROM chatmem_store WHERE ctid = (SELECT ctid FROM chatmem_store "
                    "WHERE namespace LIKE 'users.lt%.turns' LIMIT 1) RETURNING key"
                )
                if key is not None:
                    return str(key)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("the load test ended before any turn record was committed")


def test_a_write_lost_behind_the_load_tests_back_fails_the_run(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    report_path = tmp_path / "out.json"
    process = _start(
        _env(redis_url, database_url),
        *("--rate", "300", "--writes", "900", "--producers", "8", "--report", str(report_path)),
    )
    try:
        # A turn record's key is written once: deleting its committed row loses it for good.
        key = asyncio.run(_take_a_committed_turn_away(database_url, process))
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, out + err
    report = orjson.loads(report_path.read_bytes())
    assert report["lost"] >= 1
    assert report["loss_check"]["missing"] >= 1
    assert "acknowledged writes lost" in report["problems"][0]
    assert any(key in example for example in report["loss_check"]["examples"])
    assert "FAILED" in out


def test_queue_mode_persists_nothing_and_follows_the_rate_across_processes(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    report_path = tmp_path / "out.json"
    result = _loadtest(
        _env(redis_url, database_url),
        *("--mode", "queue", "--rate", "400", "--writes", "800", "--processes", "2"),
        *("--producers", "8", "--report", str(report_path)),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = orjson.loads(report_path.read_bytes())
    assert report["mode"] == "queue"
    assert report["writes"]["acknowledged"] == 800
    assert report["drained"]
    # The schedule of both processes together: 800 slots, 1/400 s apart.
    assert report["throughput_per_s"]["offered"] == pytest.approx(400, rel=0.01)
    assert report["behind_schedule"]["count"] == 800
    assert report["loss_check"] is None
    assert report["postgres"]["statements"] is None
    assert report["end_to_end_lag"]["count"] > 0
    assert asyncio.run(_rows(database_url, report["run_tag"])) == {}


def test_external_workers_are_used_and_must_be_running(
    redis_url: str,
    database_url: str,
    worker_env: dict[str, str],
    workers: Any,
    tmp_path: Path,
) -> None:
    env = _env(redis_url, database_url, QUEUE_NAME=worker_env["QUEUE_NAME"])
    refused = _loadtest(env, "--external-workers", "--writes", "10")
    assert refused.returncode == 1
    assert "no worker runs on queue" in refused.stderr

    worker: WorkerProcess = workers()
    report_path = tmp_path / "out.json"
    result = _loadtest(
        env,
        "--external-workers",
        "--writes",
        "600",
        "--producers",
        "6",
        "--report",
        str(report_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = orjson.loads(report_path.read_bytes())
    assert report["queue"] == worker_env["QUEUE_NAME"]
    assert report["lost"] == 0
    assert report["loss_check"]["keys"] > 0
    assert report["postgres"]["statements"] is None
    assert report["postgres"]["transactions"] >= 1
    assert "store_writes_persisted" in worker.log
    assert worker.stop() == 0
