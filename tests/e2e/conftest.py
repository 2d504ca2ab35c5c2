"""Fixtures for tests that run worker processes on the session's Redis and PostgreSQL."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.e2e.workers import WorkerProcess, start_worker
from tests.support import unique_name


class StartWorker(Protocol):
    """Starts a worker with the test's environment, ``env`` overriding variables of it."""

    def __call__(self, **env: str) -> WorkerProcess: ...


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

    def start(**env: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started)}.log"
        worker = start_worker({**worker_env, **env}, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.stop(signal.SIGKILL)
