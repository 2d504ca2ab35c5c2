"""The write-queue benchmark runs end to end (its figures are not checked: timing is noise)."""

from __future__ import annotations

import pytest

from infra.services import Endpoints
from tests.e2e.commands import run_bench


@pytest.mark.slow
def test_the_async_writes_benchmark_prints_every_scenario_and_the_targets(
    services: Endpoints,
) -> None:
    result = run_bench("async_writes.py", services.redis_url, services.database_url, timeout=300)
    assert result.returncode == 0, result.stderr
    for label in ("(a) raw asyncpg", "(b) naive arq", "(c) PostgresStore", "(d) QueuedStore"):
        assert label in result.stdout
    assert result.stdout.count("MET") >= 4  # a verdict for each target
