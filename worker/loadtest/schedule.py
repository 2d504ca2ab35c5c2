"""When each write of the load test is due: an open-loop schedule, or as fast as possible.

With a rate, write slot i falls due at start + i / rate, whatever the system
does: a slow system makes writes start late (lag), it never lowers the
offered rate. Producer process p of P owns the slots i with i % P == p, so
the processes together follow one schedule. Without a rate each free session
takes the next slot at once (closed loop: the offered rate is what the
system accepts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Schedule:
    """The slots one producer process owns, handed out in order; times are monotonic seconds."""

    start: float
    rate: float | None
    writes: int | None
    duration: float | None
    process: int = 0
    processes: int = 1
    taken: int = field(default=0, init=False)
    #: offsets from start of the first and last slot handed out.
    first_offset: float | None = field(default=None, init=False)
    last_offset: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._next = self.process

    def take(self, now: float) -> float | None:
        """When this process's next slot is due (now, unpaced); None once the run is over."""
        slot = self._next
        if self.writes is not None and slot >= self.writes:
            return None
        if self.rate is None:
            if self.duration is not None and now - self.start >= self.duration:
                return None
            due = max(now, self.start)
            offset = due - self.start
        else:
            offset = slot / self.rate
            if self.duration is not None and offset >= self.duration:
                return None
            due = self.start + offset
        self._next += self.processes
        self.taken += 1
        if self.first_offset is None:
            self.first_offset = offset
        self.last_offset = offset
        return due

    def due_by(self, now: float) -> int:
        """How many of this process's slots have fallen due by ``now`` (taken ones, unpaced)."""
        if self.rate is None:
            return self.taken
        slots = math.floor((now - self.start) * self.rate) + 1 if now >= self.start else 0
        if self.writes is not None:
            slots = min(slots, self.writes)
        if self.duration is not None:
            slots = min(slots, math.ceil(self.duration * self.rate))
        return max(0, -(-(slots - self.process) // self.processes))


def offered_rate(taken: int, first_offset: float | None, last_offset: float | None) -> float | None:
    """Slots per second of a schedule from the first to the last slot (None below two)."""
    if taken < 2 or first_offset is None or last_offset is None or last_offset <= first_offset:
        return None
    return (taken - 1) / (last_offset - first_offset)
