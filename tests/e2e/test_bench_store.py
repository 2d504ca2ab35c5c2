"""The store benchmark runs end to end (its figures are not checked here: timing is noise)."""

from __future__ import annotations

import pytest

from infra.services import Endpoints
from tests.e2e.commands import run_bench


@pytest.mark.slow
def test_the_store_benchmark_prints_its_figures_and_verdict(services: Endpoints) -> None:
    result = run_bench("store.py", services.redis_url, services.database_url, timeout=180)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for label in ("sequential put p50", "sequential get p99", "put throughput, 64 writers"):
        assert any(line.startswith(label) for line in lines), result.stdout
    assert any(line.startswith("target: ") and "MET" in line for line in lines)
