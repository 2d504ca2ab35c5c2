"""chatmem commands and benchmarks run as a user runs them, and what they leave running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]


def _spawn(args: tuple[str, ...], env: dict[str, str], **popen: object) -> subprocess.Popen[str]:
    """``python -m worker <args>`` in a session of its own, with only ``env`` configuring it."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "DATABASE_URL", "QUEUE_NAME", "CHATMEM_CHAT_MODEL")
    }
    full_env.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "worker", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=ROOT,
        start_new_session=True,
        **popen,
    )


def run_command(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 90
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run a command to its end; the result and its session id."""
    process = _spawn(args, env, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return result, process.pid


def terminate_at(
    *args: str, env: dict[str, str], marker: str, timeout: float = 90
) -> tuple[int, str, int]:
    """Run a command and send it SIGTERM once it prints ``marker``.

    Returns the exit status, everything it printed, and its session id.
    """
    process = _spawn(args, {**env, "PYTHONUNBUFFERED": "1"}, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    printed = []
    for line in process.stdout:
        printed.append(line)
        if marker in line:
            process.send_signal(signal.SIGTERM)
            break
    printed.append(process.stdout.read())
    process.stdout.close()
    return process.wait(timeout), "".join(printed), process.pid


def _processes() -> list[tuple[int, str, str]]:
    """(pid, /proc/<pid>/stat, cmdline) of every process we may read."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.append((int(entry.name), stat, cmdline))
    return found


def live_in_session(session_id: int) -> list[str]:
    """Command lines of the live (not zombie) processes of a session."""
    alive = []
    for _, stat, cmdline in _processes():
        fields = stat.rsplit(")", 1)[1].split()
        # fields[0] is the state, fields[3] the session id.
        if fields[0] != "Z" and int(fields[3]) == session_id:
            alive.append(cmdline)
    return alive


def live_mentioning(text: str) -> list[str]:
    """Command lines of live processes that name ``text`` (an embedded run's directory)."""
    return [
        cmdline
        for _, stat, cmdline in _processes()
        if text in cmdline and stat.rsplit(")", 1)[1].split()[0] != "Z"
    ]


def embedded_run_dir(output: str) -> str | None:
    """The run directory of the embedded servers a command printed, if any."""
    match = re.search(r"chatmem-embedded/(run-[A-Za-z0-9_]+)", output)
    return match.group(1) if match else None


async def fetch_column(database_url: str, query: str, *args: object) -> list[object]:
    """The first column of every row ``query`` returns."""
    conn = await asyncpg.connect(database_url)
    try:
        return [row[0] for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def run_bench(
    script: str,
    redis_url: str,
    database_url: str,
    timeout: float,
    args: tuple[str, ...] = ("--quick",),
) -> subprocess.CompletedProcess[str]:
    """``bench/<script> --quick`` (or ``args``) on the given servers, its output captured."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    return subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
