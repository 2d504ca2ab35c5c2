"""``--chart``: throughput, queue depth and lag over the run, drawn with matplotlib (lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worker.loadtest.monitor import Point, rate


def _rates(points: Sequence[Point], field: str) -> list[float]:
    return [rate(points[: i + 1], field) for i in range(len(points))]


def draw_chart(points: Sequence[Point], path: Path, title: str) -> None:
    """Write a PNG of three panels: writes/s, queue depth, end-to-end lag."""
    # Imported here: matplotlib is the optional "chart" extra, and costs a second to import.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [p.t for p in points]
    figure: Any
    figure, (throughput, depth, lag) = plt.subplots(3, 1, sharex=True, figsize=(9, 8))
    for field, label in (("offered", "offered"), ("acked", "achieved"), ("committed", "persisted")):
        throughput.plot(t, _rates(points, field), label=label)
    throughput.set_ylabel("writes/s")
    throughput.legend(loc="upper right")
    throughput.set_title(title)
    depth.plot(t, [p.queue_jobs for p in points], color="tab:purple")
    depth.set_ylabel("queue depth (jobs)")
    lag_t = [p.t for p in points if p.lag_p50_ms is not None]
    lag.plot(lag_t, [p.lag_p50_ms for p in points if p.lag_p50_ms is not None], label="p50")
    lag.plot(lag_t, [p.lag_max_ms for p in points if p.lag_max_ms is not None], label="max")
    lag.set_ylabel("end-to-end lag (ms)")
    lag.set_xlabel("seconds since the first write was due")
    lag.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
