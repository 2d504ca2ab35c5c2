"""The load test's latency histogram: percentiles within 1%, merged across processes."""

from __future__ import annotations

import random

import pytest

from worker.loadtest.histogram import Histogram


def _exact(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def test_percentiles_are_within_one_percent_of_the_exact_ones() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(0, 1.5) for _ in range(20_000)]
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    for p in (50, 95, 99):
        assert histogram.percentile(p) == pytest.approx(_exact(values, p), rel=0.011)
    assert histogram.max == max(values)
    assert histogram.percentile(100) == max(values)
    assert histogram.count == len(values)


def test_merging_is_the_same_as_recording_everything_in_one() -> None:
    rng = random.Random(3)
    parts = [[rng.uniform(0.01, 500) for _ in range(1000)] for _ in range(3)]
    whole, merged = Histogram(), Histogram()
    for part in parts:
        one = Histogram()
        for value in part:
            one.record(value)
            whole.record(value)
        merged.merge(Histogram.from_json(one.to_json()))
    assert merged.buckets == whole.buckets
    assert merged.count == whole.count
    assert merged.percentile(99) == whole.percentile(99)
    assert merged.total == pytest.approx(whole.total)


def test_an_empty_histogram_has_no_percentiles() -> None:
    summary = Histogram().summary()
    assert summary == {
        "count": 0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "mean_ms": None,
    }


def test_values_below_a_microsecond_count_as_one() -> None:
    histogram = Histogram()
    histogram.record(0.0)
    assert histogram.percentile(50) == pytest.approx(0.001)
