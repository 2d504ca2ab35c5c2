"""CPU time per process during a scenario, from /proc (Linux): where a write's cost goes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name, in parentheses, may hold spaces: fields are counted after it.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


@dataclass
class CpuMeter:
    """CPU seconds of named groups of processes between ``start`` and ``stop``.

    A process that joins a group after ``start`` (a connection a pool opened
    meanwhile) counts from zero: all its CPU was spent in the interval.
    """

    groups: dict[str, set[int]]
    _before: dict[int, float] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        """Take the first reading."""
        self._before = {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids}

    def join(self, group: str, pids: Iterable[int]) -> None:
        """Add processes to ``group`` (before ``stop``)."""
        self.groups[group].update(pids)

    def stop(self) -> None:
        """Take the second reading; ``spent`` holds the differences."""
        self.spent = {
            name: sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in pids)
            for name, pids in self.groups.items()
        }

    def per_write_us(self, writes: int) -> dict[str, float]:
        """Microseconds of CPU per write, by group."""
        return {name: seconds * 1e6 / writes for name, seconds in self.spent.items()}
