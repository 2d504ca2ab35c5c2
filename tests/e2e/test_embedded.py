"""The embedded servers stop on exit, on SIGTERM, and after their owner is SIGKILLed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.embedded import EmbeddedServers
from tests.support import pid_alive

pytestmark = pytest.mark.slow

OWNER = """
import json, sys, time
from pathlib import Path
from infra.embedded import EmbeddedServers
from infra.logs import configure_logging
configure_logging("WARNING", "json")
servers = EmbeddedServers(Path(sys.argv[1]))
servers.stop_on_sigterm()
servers.start_redis()
servers.start_postgres()
run_dir = next(Path(sys.argv[1]).glob("run-*"))
print(json.dumps({"run_dir": str(run_dir), "watchdog": servers._watchdog.pid}), flush=True)
time.sleep(120)
"""


def _server_pids(run_dir: Path) -> list[int]:
    pids = []
    for pidfile in (run_dir / "valkey" / "valkey.pid", run_dir / "pgdata" / "postmaster.pid"):
        pids.append(int(pidfile.read_text().split()[0]))
    return pids


def _wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Short path: unix sockets live inside it.
    path = Path(f"/tmp/cm-e2e-{os.getpid()}-{time.monotonic_ns() % 10**6}")
    path.mkdir()
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.fixture
def owners() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _start_owner(
    base_dir: Path, owners: list[subprocess.Popen[str]]
) -> tuple[subprocess.Popen[str], dict[str, object]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(base_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    owners.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the owner process did not start its servers"
    return proc, json.loads(line)


def test_servers_stop_and_leave_nothing_on_normal_exit(base_dir: Path) -> None:
    with EmbeddedServers(base_dir) as servers:
        servers.start_redis()
        servers.start_postgres()
        (run_dir,) = list(base_dir.glob("run-*"))
        pids = _server_pids(run_dir)
        assert all(pid_alive(p) for p in pids)
    assert _wait_until(lambda: not any(pid_alive(p) for p in pids), 10)
    assert not run_dir.exists()


def test_sigterm_stops_the_servers(base_dir: Path, owners: list[subprocess.Popen[str]]) -> None:
    proc, info = _start_owner(base_dir, owners)
    run_dir = Path(str(info["run_dir"]))
    pids = _server_pids(run_dir)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == -signal.SIGTERM
    assert _wait_until(lambda: not any(pid_alive(p) for p in pids), 10)
    assert not run_dir.exists()


def test_sigkilled_owner_is_cleaned_up_by_its_watchdog(
    base_dir: Path, owners: list[subprocess.Popen[str]]
) -> None:
    proc, info = _start_owner(base_dir, owners)
    run_dir = Path(str(info["run_dir"]))
    pids = _server_pids(run_dir)
    proc.kill()
    proc.wait(timeout=10)
    assert _wait_until(lambda: not any(pid_alive(p) for p in pids), 15)
    assert _wait_until(lambda: not run_dir.exists(), 5)


def test_next_run_sweeps_what_a_killed_run_left_behind(
    base_dir: Path, owners: list[subprocess.Popen[str]]
) -> None:
    proc, info = _start_owner(base_dir, owners)
    run_dir = Path(str(info["run_dir"]))
    pids = _server_pids(run_dir)
    # Kill the watchdog first, then the owner: as if the whole host session died.
    os.kill(int(str(info["watchdog"])), signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=10)
    assert run_dir.exists()
    with EmbeddedServers(base_dir) as servers:
        servers.start_redis()
        assert not run_dir.exists()
        assert _wait_until(lambda: not any(pid_alive(p) for p in pids), 10)
