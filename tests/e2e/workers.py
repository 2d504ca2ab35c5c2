"""Worker processes for end-to-end tests (they live in worker.loadtest.workers)."""

from __future__ import annotations

from pathlib import Path

from worker.loadtest.workers import WORKER_COMMAND, WorkerProcess, start_worker

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "WORKER_COMMAND", "WorkerProcess", "start_worker"]
