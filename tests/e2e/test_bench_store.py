"""The store benchmark runs end to end (its figures are not checked here: timing is noise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.services import Endpoints

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_store_benchmark_prints_its_figures_and_verdict(services: Endpoints) -> None:
    env = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    result = subprocess.run(
        [sys.executable, "bench/store.py", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for label in ("sequential put p50", "sequential get p99", "put throughput, 64 writers"):
        assert any(line.startswith(label) for line in lines), result.stdout
    assert any(line.startswith("target: ") and "MET" in line for line in lines)
