"""Helpers the fixtures and tests share: URLs with a DB or schema, claims, cleanup."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from infra.embedded import process_alive

CLAIM_KEY = "chatmem:test-claim"
# Databases 1..15; 0 is left to whoever else uses the server.
REDIS_TEST_DBS = range(1, 16)


def with_query(url: str, **params: str) -> str:
    """``url`` with query parameters set (replacing ones of the same name)."""
    base, _, old_query = url.partition("?")
    query = dict(parse_qsl(old_query))
    query.update(params)
    # Rebuilt by hand: urlunsplit would drop the '//' of unix:///path.
    return f"{base}?{urlencode(query)}"


def with_redis_db(url: str, db: int) -> str:
    """A Redis URL that selects database ``db`` (redis://, rediss:// or unix://)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return with_query(url, db=str(db))
    return urlunsplit(parts._replace(path=f"/{db}"))


def with_database(url: str, database: str) -> str:
    """A PostgreSQL DSN naming another database on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def unique_name(prefix: str) -> str:
    """A lowercase identifier no other test or session uses."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process on this host (a zombie is not)."""
    return process_alive(pid)


def claim_redis_db(base_url: str, dbs: Iterable[int] = REDIS_TEST_DBS) -> int:
    """A Redis database number no running test session or benchmark holds, now ours."""
    for db in dbs:
        client = redis.Redis.from_url(with_redis_db(base_url, db))
        try:
            if client.set(CLAIM_KEY, os.getpid(), nx=True, ex=6 * 3600):
                return db
            owner = client.get(CLAIM_KEY)
            if owner is not None and not pid_alive(int(owner)):
                # A session that died without releasing its claim.
                client.flushdb()
                if client.set(CLAIM_KEY, os.getpid(), nx=True, ex=6 * 3600):
                    return db
        finally:
            client.close()
    raise RuntimeError("every Redis test database (1-15) is claimed by a running session")


def loopback_usable() -> bool:
    """Whether a TCP listener on 127.0.0.1 can be reached from this process."""
    import socket

    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=1):
                return True
    except OSError:
        return False


def ensure_loopback() -> None:
    """Bring up loopback when this process runs in a private network namespace without it.

    ``unshare -n`` (a machine with no reachable service) leaves ``lo`` down;
    the tests that start their own TCP servers (TLS, metrics) need it. A host
    always has loopback up, so this only ever acts in such a fresh namespace.
    """
    import shutil
    import subprocess

    ip = shutil.which("ip")
    if loopback_usable() or ip is None or os.geteuid() != 0:
        return
    subprocess.run([ip, "link", "set", "lo", "up"], check=False, capture_output=True)
