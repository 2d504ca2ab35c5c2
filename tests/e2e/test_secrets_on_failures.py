"""Passwords in the URLs stay out of what a worker logs when things go wrong, and of the CLI."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest

from infra.redis_client import RedisClient
from infra.stores.jobs import FUNCTION_NAME
from infra.stores.keys import QueueKeys
from infra.stores.producer import WriteProducer, encode_put
from tests.e2e.conftest import StartWorker
from tests.e2e.queue import NS, Queue
from tests.e2e.servers import owned_valkey
from tests.e2e.test_cli import chatmem
from tests.e2e.workers import logged_count, wait_logged

pytestmark = pytest.mark.slow
REDIS_SECRET = "redis-pw-4f1c9e"
PG_SECRET = "pg-pw-8b2d7a"


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` for its user (a trust-auth server ignores it)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{password}@{host}"))


async def test_failures_and_outages_never_put_a_password_in_the_worker_log_or_the_cli(
    workers: StartWorker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    keys = QueueKeys(worker_env["QUEUE_NAME"])
    with owned_valkey(tmp_path, password=REDIS_SECRET) as valkey:
        env = {
            "REDIS_URL": valkey.url,
            "DATABASE_URL": with_password(worker_env["DATABASE_URL"], PG_SECRET),
            "LOG_LEVEL": "DEBUG",
        }
        worker = workers(**env)
        redis = RedisClient.from_url(valkey.url)
        queue = Queue(redis, keys, WriteProducer(redis, keys), worker_env["DATABASE_URL"])
        try:
            rng = random.Random(1)
            too_long = "".join(chr(rng.randint(0x10000, 0x3FFFF)) for _ in range(1000))
            await queue.producer.submit(encode_put(NS, "good", {"v": 1}, None))
            await queue.producer.submit(encode_put(NS, too_long, {"v": 2}, None))
            await queue.enqueue_raw(b"not json")
            bad_args = {"t": None, "f": FUNCTION_NAME, "a": [[{"op": "x"}]], "k": {}, "et": 1}
            await queue.enqueue_raw(orjson.dumps(bad_args))
            await queue.wait_done(*await queue.job_ids())
            # Connection errors are where URLs tend to surface.
            outages = logged_count(worker, "worker_redis_unavailable")
            valkey.crash()
            await wait_logged(worker, "worker_redis_unavailable", times=outages + 1)
            valkey.start()
            await wait_logged(worker, "worker_redis_restored", times=outages + 1)
        finally:
            await redis.aclose()
        cli_env = {**env, "QUEUE_NAME": keys.queue}
        outputs = [chatmem(*args, env=cli_env) for args in (("dlq", "list"), ("doctor",))]
        assert worker.stop() == 0
    assert all(o.returncode == 0 for o in outputs), outputs
    seen = worker.log + "".join(o.stdout + o.stderr for o in outputs)
    assert '"event":"store_write_dead_lettered"' in worker.log
    assert "3 dead letters" in outputs[0].stdout
    assert ":***@" in seen  # the URLs were shown, their passwords hidden
    assert REDIS_SECRET not in seen
    assert PG_SECRET not in seen
