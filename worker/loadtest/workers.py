"""Worker processes started by the load test (and the tests and benchmarks): start, stop, count.

A worker is ready when arq has written its health-check key: it has run its
startup (PostgreSQL pool, migrations) and polls the queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import redis

WORKER_COMMAND = (sys.executable, "-m", "worker", "worker")


@dataclass
class WorkerProcess:
    """A ``python -m worker worker`` process and the file its log goes to."""

    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def log(self) -> str:
        """Everything the worker has logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def spawn_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    command: Sequence[str] = WORKER_COMMAND,
    cwd: Path | None = None,
    preexec_fn: Callable[[], object] | None = None,
) -> WorkerProcess:
    """Start a worker with ``env`` (JSON logs into ``log_path``), without waiting for it."""
    full_env = {**os.environ, "LOG_FORMAT": "json", **env}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=full_env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
    return WorkerProcess(process, log_path, full_env)


def start_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    command: Sequence[str] = WORKER_COMMAND,
    ready_timeout: float = 30,
    cwd: Path | None = None,
    preexec_fn: Callable[[], object] | None = None,
) -> WorkerProcess:
    """Start a worker with ``env`` and wait for arq's health-check key (it is taking jobs)."""
    client = redis.Redis.from_url(env["REDIS_URL"])
    health_key = f"{env['QUEUE_NAME']}:health-check"
    client.delete(health_key)
    worker = spawn_worker(env, log_path, command=command, cwd=cwd, preexec_fn=preexec_fn)
    process = worker.process
    deadline = time.monotonic() + ready_timeout
    try:
        while not client.exists(health_key):
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}:\n{worker.log}")
            if time.monotonic() > deadline:
                worker.stop(signal.SIGKILL)
                raise RuntimeError(f"worker not ready after {ready_timeout}s:\n{worker.log}")
            time.sleep(0.05)
    finally:
        client.close()
    return worker


def stop_workers(workers: Iterable[WorkerProcess], timeout: float = 30) -> list[int]:
    """SIGTERM to all at once (they finish in parallel), then each one's exit status."""
    workers = list(workers)
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    statuses = []
    for worker in workers:
        try:
            statuses.append(worker.process.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            statuses.append(worker.stop(signal.SIGKILL))
    return statuses


@dataclass(frozen=True, slots=True)
class CommitCounts:
    """What workers' logs say they did: write statements sent to PostgreSQL, writes in them."""

    statements: int
    writes: int


def commit_counts(log_paths: Iterable[Path]) -> CommitCounts:
    """Count the workers' commits from their JSON log lines.

    Each ``store_writes_persisted`` line is one upsert statement; each
    ``store_commit_split`` line one statement PostgreSQL refused before the
    group was retried job by job.
    """
    statements = writes = 0
    for path in log_paths:
        with path.open("rb") as log:
            for line in log:
                if b"store_writes_persisted" not in line and b"store_commit_split" not in line:
                    continue
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if event.get("event") == "store_writes_persisted":
                    statements += 1
                    writes += int(event.get("writes", 0))
                elif event.get("event") == "store_commit_split":
                    statements += 1
    return CommitCounts(statements, writes)
