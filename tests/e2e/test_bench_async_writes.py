"""The write-queue benchmark runs end to end (its figures are not checked: timing is noise)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra.services import Endpoints
from tests.e2e.workers import ROOT


@pytest.mark.slow
def test_the_async_writes_benchmark_prints_every_scenario_and_the_targets(
    services: Endpoints,
) -> None:
    env = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    result = subprocess.run(
        [sys.executable, "bench/async_writes.py", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for label in ("(a) raw asyncpg", "(b) naive arq", "(c) PostgresStore", "(d) QueuedStore"):
        assert label in result.stdout
    assert result.stdout.count("MET") >= 4  # a verdict for each target
