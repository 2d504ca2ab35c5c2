"""Throw-away Redis and PostgreSQL servers that demand a password and speak TLS.

Debian's redis-server and PostgreSQL, on every machine this project runs on,
are built with TLS (the embedded Valkey and PostgreSQL are not). Each server
runs on free ports in a directory of its own, with a certificate for
127.0.0.1 signed by a throw-away CA made with openssl. Redis accepts TLS and
plain connections (both with the password); PostgreSQL refuses any TCP
connection that is not TLS.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import redis

# Characters a URL must escape, so the tests see them encoded and decoded.
REDIS_PASSWORD = "r3d!s@p:ss/w%rd"
PG_PASSWORD = "pg p@ss:w/rd%"
PG_USER = "chatmem"


@dataclass(frozen=True)
class Certs:
    """A CA, a server certificate it signed, and another CA that signed nothing of ours."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path


@dataclass(frozen=True)
class SecureServers:
    """URLs of the running servers; the TLS ones verify the server against ``certs.ca``."""

    certs: Certs
    redis_plain_url: str
    redis_tls_url: str
    postgres_url: str

    def redis_url(self, **query: str) -> str:
        """The TLS Redis URL with other query options (replacing the CA and hostname check)."""
        base = self.redis_tls_url.partition("?")[0]
        return base + "?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items())

    def postgres_dsn(self, **query: str) -> str:
        """The PostgreSQL DSN with other query options (replacing sslmode and sslrootcert)."""
        base = self.postgres_url.partition("?")[0]
        return base + "?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items())


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_certs(directory: Path) -> Certs:
    """A CA and a server certificate for 127.0.0.1 and localhost, valid two days."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *key, "-days", "2", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                "-subj", f"/CN=chatmem test {ca}")  # fmt: skip
    openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext",
            "-out", "server.pem")  # fmt: skip
    return Certs(
        directory / "ca.pem", directory / "server.pem", directory / "server.key",
        directory / "other-ca.pem",
    )  # fmt: skip


def _wait(ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            text = log.read_text(errors="replace") if log.exists() else ""
            tail = "\n".join(text.splitlines()[-30:])
            raise RuntimeError(f"test server did not start:\n{tail}")
        time.sleep(0.05)


def _redis_answers(port: int) -> bool:
    client = redis.Redis(port=port, password=REDIS_PASSWORD, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextmanager
def secure_redis(directory: Path, certs: Certs) -> Iterator[tuple[str, str]]:
    """A redis-server with a password on a plain and a TLS port: (plain URL, TLS URL)."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise RuntimeError("the TLS tests need redis-server (Debian: apt-get install redis-server)")
    plain, tls = free_port(), free_port()
    log = directory / "redis.log"
    options = {
        "port": plain, "tls-port": tls, "bind": "127.0.0.1", "requirepass": REDIS_PASSWORD,
        "tls-cert-file": certs.cert, "tls-key-file": certs.key, "tls-ca-cert-file": certs.ca,
        "tls-auth-clients": "no", "save": "", "appendonly": "no", "dir": directory, "logfile": log,
    }  # fmt: skip
    args = [arg for name, value in options.items() for arg in (f"--{name}", str(value))]
    # The server writes its own log file, read back if it does not start.
    process = subprocess.Popen(
        [binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(lambda: _redis_answers(plain), process, log)
        password = quote(REDIS_PASSWORD, safe="")
        yield (
            f"redis://:{password}@127.0.0.1:{plain}/0",
            f"rediss://:{password}@127.0.0.1:{tls}/0?ssl_ca_certs={certs.ca}"
            "&ssl_check_hostname=true",
        )
    finally:
        process.terminate()
        process.wait(10)


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version)
    if not found:
        raise RuntimeError("the TLS tests need PostgreSQL (Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


def _version(path: str) -> int:
    return int(Path(path).parts[-3])


def _owner() -> str | None:
    # PostgreSQL refuses to run as root; Debian's package made a user for it.
    return "postgres" if os.geteuid() == 0 else None


def _chown(path: Path, owner: str | None) -> None:
    if owner is not None:
        shutil.chown(path, owner, owner)


async def _connect_locally(socket_dir: Path, port: int) -> asyncpg.Connection:
    return await asyncpg.connect(host=str(socket_dir), port=port, user=PG_USER, database="postgres")


def _postgres_answers(socket_dir: Path, port: int) -> bool:
    async def probe() -> None:
        await (await _connect_locally(socket_dir, port)).close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError):
        return False
    return True


async def _set_password_and_database(socket_dir: Path, port: int) -> None:
    conn = await _connect_locally(socket_dir, port)
    try:
        # ALTER ROLE takes no parameters; format(%L) quotes the password server-side.
        alter = await conn.fetchval(
            f"SELECT format('ALTER ROLE {PG_USER} PASSWORD %L', $1::text)", PG_PASSWORD
        )
        await conn.execute(alter)
        await conn.execute(f"CREATE DATABASE {PG_USER}")
    finally:
        await conn.close()


@contextmanager
def secure_postgres(certs: Certs) -> Iterator[str]:
    """A PostgreSQL that takes TCP connections only over TLS, with a password: its DSN."""
    bindir, owner, port = _postgres_bindir(), _owner(), free_port()
    directory = Path(tempfile.mkdtemp(prefix="chatmem-pg-tls-"))
    data = directory / "data"
    _chown(directory, owner)
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, user=owner,
    )  # fmt: skip
    for source, name in ((certs.cert, "server.pem"), (certs.key, "server.key")):
        shutil.copy(source, data / name)
        _chown(data / name, owner)
        (data / name).chmod(0o600)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {port}\n"
            f"unix_socket_directories = '{directory}'\n"
            "ssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n"
            "password_encryption = 'scram-sha-256'\nfsync = off\n"
        )
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
    )
    log = directory / "postgres.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [bindir / "postgres", "-D", data], stdout=out, stderr=subprocess.STDOUT, user=owner
        )
    try:
        _wait(lambda: _postgres_answers(directory, port), process, log)
        asyncio.run(_set_password_and_database(directory, port))
        yield (
            f"postgresql://{PG_USER}:{quote(PG_PASSWORD, safe='')}@127.0.0.1:{port}/{PG_USER}"
            f"?sslmode=verify-full&sslrootcert={certs.ca}"
        )
    finally:
        process.send_signal(signal.SIGINT)  # fast shutdown
        process.wait(20)
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def secure_servers() -> Iterator[SecureServers]:
    """Both servers and the certificates they use; stopped and removed on exit."""
    directory = Path(tempfile.mkdtemp(prefix="chatmem-tls-"))
    try:
        certs = make_certs(directory)
        with secure_redis(directory, certs) as (plain, tls), secure_postgres(certs) as dsn:
            yield SecureServers(certs, plain, tls, dsn)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
