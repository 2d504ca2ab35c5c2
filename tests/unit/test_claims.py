from __future__ import annotations

import pytest
from arq.constants import job_key_prefix, retry_key_prefix

from worker.claims import TRY_COUNTER_TTL_S, StartedJob, parse_claims


async def test_a_started_job_answers_arqs_first_pipeline_from_the_claim() -> None:
    started = StartedJob("j1", b"payload", 3)
    async with started.pipeline(transaction=True) as pipe:
        pipe.get(job_key_prefix + "j1")
        pipe.incr(retry_key_prefix + "j1")
        pipe.expire(retry_key_prefix + "j1", TRY_COUNTER_TTL_S)
        assert await pipe.execute() == [b"payload", 3, True]


async def test_a_started_job_refuses_a_pipeline_it_did_not_answer() -> None:
    started = StartedJob("j1", b"payload", 3)
    async with started.pipeline(transaction=True) as pipe:
        pipe.get(job_key_prefix + "another")
        pipe.incr(retry_key_prefix + "j1")
        pipe.expire(retry_key_prefix + "j1", TRY_COUNTER_TTL_S)
        with pytest.raises(RuntimeError, match="not what the claim answered"):
            await pipe.execute()


def test_claims_are_read_with_and_without_their_start() -> None:
    started = parse_claims([b"a", b"1700000000000", None, 1, b"b", b"17e11", b"{}", 2], True)
    assert [(c.job_id, c.score) for c in started] == [("a", 1700000000000), ("b", 1700000000000)]
    assert [(c.started.payload, c.started.job_try) for c in started if c.started] == [
        (None, 1),
        (b"{}", 2),
    ]
    plain = parse_claims([b"a", b"5"], False)
    assert [(c.job_id, c.score, c.started) for c in plain] == [("a", 5, None)]
