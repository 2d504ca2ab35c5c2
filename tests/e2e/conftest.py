"""Fixtures for tests that run worker processes on the session's Redis and PostgreSQL."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer
from tests.e2e.queue import Queue
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


@pytest.fixture
async def queue(worker_env: dict[str, str]) -> AsyncIterator[Queue]:
    """A producer and raw access to the queue of this test's workers."""
    redis = RedisClient.from_url(worker_env["REDIS_URL"])
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    producer = WriteProducer(redis, keys)
    yield Queue(redis, keys, producer, worker_env["DATABASE_URL"])
    await producer.aclose()
    await redis.aclose()
