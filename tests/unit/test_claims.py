from __future__ import annotations

import pytest
from arq.constants import job_key_prefix, retry_key_prefix

from worker.claims import TRY_COUNTER_TTL_S, StartedJob, parse_claims


async def _as_arq_starts(job_id: str) -> list[object]:
    """What arq's run_job does with its first pipeline, asking about ``job_id``."""
    async with StartedJob("j1", b"payload", 3).pipeline(transaction=True) as pipe:
        pipe.get(job_key_prefix + job_id)
        pipe.incr(retry_key_prefix + job_id)
        pipe.expire(retry_key_prefix + job_id, TRY_COUNTER_TTL_S)
        return await pipe.execute()


async def test_a_started_job_answers_arqs_first_pipeline_from_the_claim() -> None:
    assert await _as_arq_starts("j1") == [b"payload", 3, True]


async def test_a_started_job_refuses_a_pipeline_it_did_not_answer() -> None:
    with pytest.raises(RuntimeError, match="not what the claim answered"):
        await _as_arq_starts("another")


def test_claims_are_read_with_and_without_their_start() -> None:
    started = parse_claims([b"a", b"1700000000000", None, 1, b"b", b"17e11", b"{}", 2], True)
    assert [(c.job_id, c.score) for c in started] == [("a", 1700000000000), ("b", 1700000000000)]
    assert [(c.started.payload, c.started.job_try) for c in started if c.started] == [
        (None, 1),
        (b"{}", 2),
    ]
    plain = parse_claims([b"a", b"5"], False)
    assert [(c.job_id, c.score, c.started) for c in plain] == [("a", 5, None)]
