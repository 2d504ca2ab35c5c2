"""Fixtures for tests that run worker processes on the session's Redis and PostgreSQL."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.workers import WorkerProcess, start_worker
from tests.support import unique_name

StartWorker = Callable[[], WorkerProcess]


@pytest.fixture
def worker_env(redis_url: str, database_url: str) -> dict[str, str]:
    """The environment of this test's workers: its Redis DB, its schema, its own queue."""
    return {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "QUEUE_NAME": unique_name("chatmem:e2e"),
    }


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[StartWorker]:
    """Starts worker processes on demand; any still running at the end are killed."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = start_worker(worker_env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.stop(signal.SIGKILL)
