"""A ``chatmem worker`` child process for the demo and the chat REPL: started, awaited, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from arq.constants import health_check_key_suffix

from domain.errors import ChatMemError
from infra.redis_client import RedisClient

WORKER_COMMAND = (sys.executable, "-m", "worker", "worker")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    # A parent killed outright (SIGKILL) must not leave a worker draining a
    # queue nobody uses: on Linux the child asks for SIGTERM when its parent dies.
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerProcess:
    """One worker process on the given REDIS_URL, DATABASE_URL and QUEUE_NAME; logs to a file."""

    def __init__(self, redis_url: str, database_url: str, queue_name: str, log_path: Path) -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
        env.update(
            REDIS_URL=redis_url,
            DATABASE_URL=database_url,
            QUEUE_NAME=queue_name,
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
        )
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id once started."""
        return None if self.process is None else self.process.pid

    def spawn(self) -> None:
        """Start the process (``wait_ready`` tells when it takes jobs)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                WORKER_COMMAND,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),
            )

    async def start(self, ready_timeout: float = 20.0) -> None:
        """Spawn, then wait until arq's health-check key says the worker takes jobs."""
        client = RedisClient.from_url(self.redis_url)
        health_key = self.queue_name + health_check_key_suffix
        try:
            await client.redis.delete(health_key)
            self.spawn()
            deadline = time.monotonic() + ready_timeout
            while not await client.redis.exists(health_key):
                exited = self.process is None or self.process.poll() is not None
                if exited or time.monotonic() > deadline:
                    await asyncio.to_thread(self.stop, 2)
                    raise ChatMemError(f"the worker did not start; its log:\n{self.log()}")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (in-flight jobs commit), wait, SIGKILL if it hangs; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        """What the worker logged so far."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def events(self, name: str) -> list[dict[str, object]]:
        """The worker's JSON log lines for one event."""
        found = []
        for line in self.log().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                entry = orjson.loads(line)
                if isinstance(entry, dict) and entry.get("event") == name:
                    found.append(entry)
        return found
