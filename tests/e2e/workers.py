"""Worker processes for end-to-end tests (they live in worker.loadtest.workers), and their logs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from worker.loadtest.workers import WORKER_COMMAND, WorkerProcess, spawn_worker, start_worker

ROOT = Path(__file__).resolve().parents[2]


def logged_count(worker: WorkerProcess, event: str) -> int:
    """How many times ``worker`` has logged ``event`` (a JSON line's "event")."""
    return worker.log.count(f'"event":"{event}"')


async def wait_logged(
    worker: WorkerProcess, event: str, times: int = 1, within_s: float = 30
) -> None:
    """Wait until ``worker`` has logged ``event`` ``times`` times."""
    async with asyncio.timeout(within_s):
        while True:
            if logged_count(worker, event) >= times:
                return
            if worker.process.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.process.returncode}:\n{worker.log}")
            await asyncio.sleep(0.05)


__all__ = [
    "ROOT",
    "WORKER_COMMAND",
    "WorkerProcess",
    "logged_count",
    "spawn_worker",
    "start_worker",
    "wait_logged",
]
