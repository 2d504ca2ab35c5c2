"""Live progress while the load test runs (rich): rates, queue depth, lag."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from worker.loadtest.monitor import Point, rate


class LiveView:
    """A table redrawn on every tick of the run."""

    def __init__(self, console: Console, planned: int | None) -> None:
        self._live = Live(console=console, auto_refresh=False)
        self._planned = planned

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.__exit__(exc_type, exc, tb)

    def update(self, points: list[Point], phase: str) -> None:
        """Redraw from the timeline so far."""
        self._live.update(render(points, phase, self._planned), refresh=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def render(points: Sequence[Point], phase: str, planned: int | None) -> Table:
    """The progress table for the timeline so far."""
    last = points[-1]
    table = Table(title=f"chatmem loadtest: {phase}, {last.t:,.1f} s", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    of = f" of {planned:,}" if planned is not None else ""
    table.add_row("writes acknowledged", f"{last.acked:,}{of}")
    table.add_row("offered writes/s", f"{rate(points, 'offered'):,.0f}")
    table.add_row("achieved writes/s", f"{rate(points, 'acked'):,.0f}")
    table.add_row("persisted writes/s (sampled)", f"{rate(points, 'committed'):,.0f}")
    table.add_row("queue depth (jobs)", f"{last.queue_jobs:,}")
    table.add_row("writes not yet committed (sampled)", f"{max(last.acked - last.committed, 0):,}")
    table.add_row("end-to-end lag p50 / max", f"{_ms(last.lag_p50_ms)} / {_ms(last.lag_max_ms)}")
    table.add_row("behind schedule", _ms(last.behind_ms))
    table.add_row("errors", f"{last.errors:,}")
    return table
