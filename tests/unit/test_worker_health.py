"""Reading arq's health-check key: a live worker, a missing one, a key that is not arq's."""

from __future__ import annotations

from infra.stores.worker_health import health_check_key, parse_health

ARQ_LINE = b"Nov-26 03:14:40 j_complete=10 j_failed=1 j_retried=2 j_ongoing=3 queued=4"


def test_a_fresh_key_shows_a_worker_and_its_counts() -> None:
    health = parse_health(ARQ_LINE, pttl_ms=8_500, interval_s=10)
    assert health.seen
    assert health.reason is None
    assert health.recorded_at == "Nov-26 03:14:40"
    assert health.age_s == 2.5  # written with 11 s to live, 8.5 s left
    assert (health.jobs_complete, health.jobs_failed, health.jobs_retried) == (10, 1, 2)
    assert (health.jobs_ongoing, health.queued) == (3, 4)


def test_an_absent_key_means_no_worker_seen_and_says_for_how_long() -> None:
    health = parse_health(None, pttl_ms=-2, interval_s=10)
    assert not health.seen
    assert health.reason is not None
    assert "11 s" in health.reason
    assert health.jobs_complete is None


def test_a_key_without_expiry_is_stale_not_a_worker() -> None:
    health = parse_health(ARQ_LINE, pttl_ms=-1, interval_s=10)
    assert not health.seen
    assert health.reason is not None
    assert "no expiry" in health.reason


def test_a_key_that_is_not_arqs_is_not_a_worker() -> None:
    health = parse_health(b"hello j_complete=1", pttl_ms=5_000, interval_s=10)
    assert not health.seen
    assert health.reason is not None
    assert "not arq's" in health.reason


def test_a_worker_with_a_longer_interval_is_seen_with_an_unknown_age() -> None:
    health = parse_health(ARQ_LINE, pttl_ms=3_000_000, interval_s=10)
    assert health.seen
    assert health.age_s is None


def test_the_key_is_arqs_name_for_the_queue() -> None:
    assert health_check_key("chatmem:queue") == "chatmem:queue:health-check"
