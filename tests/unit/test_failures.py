"""Which errors are retried, which dead-lettered, and how long a retry waits."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions import _base as asyncpg_base

from worker.failures import backoff, is_permanent

PERMANENT = [
    asyncpg.exceptions.UntranslatableCharacterError("\\u0000 cannot be converted to text"),
    asyncpg.exceptions.NumericValueOutOfRangeError("out of range"),
    asyncpg.exceptions.UniqueViolationError("duplicate key"),
    asyncpg.exceptions.CheckViolationError("check"),
    asyncpg.exceptions.ProgramLimitExceededError("index row size 4024 exceeds maximum 2704"),
    asyncpg_base.DataError("invalid input for query argument $1"),
    OverflowError("date value out of range"),
]
TRANSIENT = [
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.LockNotAvailableError("could not obtain lock"),
    asyncpg.exceptions.TooManyConnectionsError("too many clients"),
    asyncpg.exceptions.DiskFullError("no space left"),
    asyncpg.exceptions.UndefinedTableError('relation "chatmem_store" does not exist'),
    asyncpg.exceptions.InsufficientPrivilegeError("permission denied"),
    asyncpg.exceptions.InterfaceError("connection is closed"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
]


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: type(e).__name__)
def test_a_write_postgresql_refuses_for_what_it_is_is_permanent(exc: BaseException) -> None:
    assert is_permanent(exc)


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_a_failure_of_the_moment_or_of_every_write_alike_is_transient(exc: BaseException) -> None:
    assert not is_permanent(exc)


def test_backoff_doubles_up_to_the_cap_and_never_goes_below_half_its_step() -> None:
    assert [backoff(n, 0.5, 30, rand=lambda: 1.0) for n in (1, 2, 3, 7, 8, 50)] == [
        0.5, 1.0, 2.0, 30.0, 30.0, 30.0,
    ]  # fmt: skip
    assert [backoff(n, 0.5, 30, rand=lambda: 0.0) for n in (1, 2, 8)] == [0.25, 0.5, 15.0]


def test_backoff_spreads_workers_that_failed_together() -> None:
    delays = {backoff(6, 0.5, 30) for _ in range(50)}
    assert len(delays) > 40
    assert all(8.0 <= d <= 16.0 for d in delays)
