"""The load test's schedule: open loop at the rate asked, one schedule across processes."""

from __future__ import annotations

import itertools

import pytest

from worker.loadtest.schedule import Schedule, offered_rate


def _all_due(schedule: Schedule, now: float = 0.0) -> list[float]:
    dues = []
    while (due := schedule.take(now)) is not None:
        dues.append(due)
    return dues


def test_paced_slots_fall_due_one_interval_apart_whatever_the_clock_says() -> None:
    schedule = Schedule(start=100.0, rate=400.0, writes=1000, duration=None)
    # Taken long after they were due (a slow system): the dues do not move.
    dues = _all_due(schedule, now=10_000.0)
    assert len(dues) == 1000
    assert dues[0] == 100.0
    assert dues[-1] == pytest.approx(100.0 + 999 / 400)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(dues)}
    assert gaps == {round(1 / 400, 9)}
    assert offered_rate(schedule.taken, schedule.first_offset, schedule.last_offset) == (
        pytest.approx(400.0)
    )


def test_processes_share_one_schedule_without_overlap() -> None:
    schedules = [
        Schedule(start=0.0, rate=300.0, writes=900, duration=None, process=p, processes=3)
        for p in range(3)
    ]
    dues = sorted(due for s in schedules for due in _all_due(s))
    assert len(dues) == 900
    assert dues == pytest.approx([i / 300 for i in range(900)])
    taken = sum(s.taken for s in schedules)
    first = min(s.first_offset for s in schedules if s.first_offset is not None)
    last = max(s.last_offset for s in schedules if s.last_offset is not None)
    assert offered_rate(taken, first, last) == pytest.approx(300.0)


def test_a_paced_duration_ends_the_schedule_at_rate_times_duration() -> None:
    schedule = Schedule(start=0.0, rate=50.0, writes=None, duration=2.0)
    assert len(_all_due(schedule)) == 100


def test_the_smaller_of_writes_and_duration_wins() -> None:
    assert len(_all_due(Schedule(start=0.0, rate=50.0, writes=30, duration=2.0))) == 30


def test_unpaced_slots_are_due_at_once_until_the_duration_is_over() -> None:
    schedule = Schedule(start=10.0, rate=None, writes=None, duration=5.0)
    assert schedule.take(11.0) == 11.0
    assert schedule.take(14.9) == 14.9
    assert schedule.take(15.0) is None
    assert schedule.due_by(20.0) == 2


def test_due_by_counts_the_slots_of_one_process_fallen_due() -> None:
    schedule = Schedule(start=0.0, rate=100.0, writes=1000, duration=None, process=1, processes=2)
    assert schedule.due_by(-1.0) == 0
    # Slots 0..10 are due at t = 0.1 s; this process owns 1, 3, 5, 7, 9.
    assert schedule.due_by(0.1) == 5
    assert schedule.due_by(1000.0) == 500


def test_offered_rate_needs_two_slots() -> None:
    assert offered_rate(1, 0.0, 0.0) is None
    assert offered_rate(0, None, None) is None
