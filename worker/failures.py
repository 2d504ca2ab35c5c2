"""Which failures a later try can get past, and how long to wait before it."""

from __future__ import annotations

import random
from collections.abc import Callable

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base

# SQLSTATE classes that say the write itself is refused, whatever the server's
# state: data exceptions (22: a NUL in jsonb, a value out of range), integrity
# violations (23) and program limits (54: a key too long for its index).
PERMANENT_SQLSTATE_CLASSES = ("22", "23", "54")


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the same write can never succeed: the write, not the moment, is wrong.

    Everything else is transient: connection loss, shutdowns and restarts
    (08, 57P01-57P03), deadlocks and serialisation failures (40), cancelled
    statements and timeouts (57014), lack of resources (53), and errors that
    concern every write alike, such as a missing table or privilege (42),
    which an operator fixes and a retry then gets past.
    """
    if isinstance(exc, asyncpg_base.DataError):
        return True  # asyncpg could not encode an argument
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        return sqlstate[:2] in PERMANENT_SQLSTATE_CLASSES
    # Raised while turning a write into arguments: an expiry past year 9999.
    return isinstance(exc, OverflowError)


def backoff(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before try ``attempt + 1``: doubling from ``base``, at most ``cap``, with jitter.

    Half the delay is fixed and half random ("equal jitter"): workers that
    failed together, on a PostgreSQL restart say, do not come back together,
    and none retries sooner than half its turn.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 62))
    return ceiling / 2 + ceiling / 2 * rand()
