"""Worker processes for end-to-end tests: start, wait until ready, stop with a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


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

    def count(self, event: str) -> int:
        """How many times the worker has logged ``event`` (a JSON line's "event")."""
        return self.log.count(f'"event":"{event}"')

    async def logged(self, event: str, times: int = 1, within_s: float = 30) -> None:
        """Wait until the worker has logged ``event`` ``times`` times."""
        async with asyncio.timeout(within_s):
            while True:
                if self.count(event) >= times:
                    return
                if self.process.poll() is not None:
                    raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log}")
                await asyncio.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


WORKER_COMMAND = (sys.executable, "-m", "worker", "worker")


def start_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    command: Sequence[str] = WORKER_COMMAND,
    ready_timeout: float = 30,
) -> WorkerProcess:
    """Start a worker with ``env`` and wait for arq's health-check key (it is taking jobs)."""
    full_env = {**os.environ, "LOG_FORMAT": "json", **env}
    client = redis.Redis.from_url(env["REDIS_URL"])
    health_key = f"{env['QUEUE_NAME']}:health-check"
    client.delete(health_key)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=full_env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path, full_env)
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
