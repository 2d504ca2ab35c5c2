"""arq's health-check key, read back: is a worker serving the queue, and what it has done.

Every arq worker of a queue writes ``<queue>:health-check`` on its poll loop,
at most every ``health_check_interval`` seconds, with an expiry of that
interval plus one second::

    Nov-26 03:14:40 j_complete=120 j_failed=0 j_retried=3 j_ongoing=4 queued=12

The time is the worker's local clock without year or zone, so freshness is
judged by the key's remaining expiry instead. All workers of a queue share
the key: it holds the counts of whichever refreshed it last.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from arq.constants import health_check_key_suffix

_FIELDS = ("j_complete", "j_failed", "j_retried", "j_ongoing", "queued")
_FIELD = re.compile(r"\b(j_complete|j_failed|j_retried|j_ongoing|queued)=(\d+)\b")


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """What the health-check key says; ``seen`` is False (with a ``reason``) when no worker is."""

    seen: bool
    reason: str | None = None
    #: the worker's local time as arq wrote it (no year, no zone)
    recorded_at: str | None = None
    #: seconds since the key was written, from its remaining expiry; None if unknown
    age_s: float | None = None
    jobs_complete: int | None = None
    jobs_failed: int | None = None
    jobs_retried: int | None = None
    jobs_ongoing: int | None = None
    queued: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The figures as a JSON object (the ``worker`` part of ``chatmem stats --json``)."""
        return asdict(self)


def health_check_key(queue: str) -> str:
    """arq's health-check key of a queue."""
    return queue + health_check_key_suffix


def parse_health(raw: bytes | None, pttl_ms: int, interval_s: float) -> WorkerHealth:
    """Judge the key's value and remaining expiry (Redis PTTL: -2 absent, -1 none)."""
    lifetime_s = interval_s + 1
    if raw is None or pttl_ms == -2:
        return WorkerHealth(
            False,
            f"no health-check key: no worker has polled the queue in the last {lifetime_s:g} s",
        )
    text = raw.decode(errors="replace")
    found = dict(_FIELD.findall(text))
    if set(found) != set(_FIELDS):
        return WorkerHealth(False, f"the health-check key is not arq's: {text[:80]!r}")
    if pttl_ms < 0:
        # arq always sets an expiry; a key without one is left over, not refreshed.
        return WorkerHealth(False, "the health-check key has no expiry: no worker refreshes it")
    pttl_s = pttl_ms / 1000
    # A worker with a longer interval than ours wrote it: its age cannot be told.
    age_s = round(lifetime_s - pttl_s, 3) if pttl_s <= lifetime_s else None
    return WorkerHealth(
        True,
        recorded_at=text[: text.find(" j_complete=")].strip() or None,
        age_s=age_s,
        jobs_complete=int(found["j_complete"]),
        jobs_failed=int(found["j_failed"]),
        jobs_retried=int(found["j_retried"]),
        jobs_ongoing=int(found["j_ongoing"]),
        queued=int(found["queued"]),
    )
