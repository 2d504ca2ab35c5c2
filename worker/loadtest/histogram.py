"""A latency histogram with buckets 1% wide: small, mergeable across processes, JSON.

Producer processes each record millions of latencies; they send this, not
the samples, and the percentiles of the merged histogram are those of all
samples to within 1%. (The hdrhistogram package does the same, but brings
pbr and setuptools into the runtime and has no type hints.)
"""

from __future__ import annotations

import math
from typing import Any

_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)
# Values are milliseconds; anything under a microsecond counts as one.
_FLOOR_MS = 0.001


class Histogram:
    """Counts of values (milliseconds) in buckets whose bounds grow by 1%."""

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.max = 0.0
        self.total = 0.0

    def record(self, value_ms: float) -> None:
        """Count one value."""
        value_ms = max(value_ms, _FLOOR_MS)
        index = math.ceil(math.log(value_ms / _FLOOR_MS) / _LOG_GROWTH)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        self.total += value_ms
        self.max = max(self.max, value_ms)

    def merge(self, other: Histogram) -> None:
        """Add every value ``other`` counted."""
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def percentile(self, p: float) -> float | None:
        """The value at or below which ``p`` percent of the values lie (None when empty)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * p / 100))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(_FLOOR_MS * _GROWTH**index, self.max)
        return self.max

    @property
    def mean(self) -> float | None:
        """The mean value (None when empty)."""
        return self.total / self.count if self.count else None

    def summary(self) -> dict[str, float | int | None]:
        """count, p50, p95, p99, max and mean in milliseconds, rounded for a report."""
        figures: dict[str, float | int | None] = {"count": self.count}
        for name, value in (
            ("p50_ms", self.percentile(50)),
            ("p95_ms", self.percentile(95)),
            ("p99_ms", self.percentile(99)),
            ("max_ms", self.max if self.count else None),
            ("mean_ms", self.mean),
        ):
            figures[name] = None if value is None else round(value, 3)
        return figures

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form that from_json reads back exactly."""
        return {
            "buckets": [[i, n] for i, n in sorted(self.buckets.items())],
            "count": self.count,
            "max": self.max,
            "total": self.total,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Histogram:
        """The histogram to_json described."""
        histogram = cls()
        histogram.buckets = {int(i): int(n) for i, n in data["buckets"]}
        histogram.count = int(data["count"])
        histogram.max = float(data["max"])
        histogram.total = float(data["total"])
        return histogram
