"""The checkpointer benchmark runs end to end, on both event loops (figures not checked)."""

from __future__ import annotations

import pytest
import redis

from infra.services import Endpoints
from tests.e2e.commands import run_bench
from tests.support import CLAIM_KEY


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_checkpointer_benchmark_prints_every_saver_and_cleans_up(
    services: Endpoints, redis_url: str, loop: str
) -> None:
    small = ("--turns", "20", "--threads", "5", "--repeat", "1", "--loop", loop)
    result = run_bench("checkpointer.py", redis_url, services.database_url, timeout=120, args=small)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"{loop} event loop" in lines[0]
    for saver in ("none", "InMemorySaver", "RedisCheckpointSaver", "AsyncPostgresSaver"):
        assert any(line.startswith(saver) for line in lines), result.stdout
    assert sum(line.startswith("target ") for line in lines) == 2, result.stdout
    # Every key the Redis saver wrote is gone; only the session's claim of the database is left.
    with redis.Redis.from_url(redis_url) as client:
        assert client.keys("*") == [CLAIM_KEY.encode()]
