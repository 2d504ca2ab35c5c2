"""A job in Redis is untrusted: its size, envelope and every op are checked before it runs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from domain.errors import InvalidWriteError, MalformedJobError
from infra.stores.jobs import (
    FUNCTION_NAME,
    MAX_JOB_BYTES,
    MAX_OPS_PER_JOB,
    MAX_WRITE_BYTES,
    decode_job,
    deserialize_job,
)
from infra.stores.producer import encode_delete, encode_put
from tests.unit.test_job_contract import good_op


def envelope(**changes: Any) -> bytes:
    job: dict[str, Any] = {"t": None, "f": FUNCTION_NAME, "a": [[good_op()]], "k": {}, "et": 1}
    job.update(changes)
    return orjson.dumps(job)


def test_a_job_larger_than_the_limit_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(ValueError, match=f"at most {MAX_JOB_BYTES} bytes"):
        deserialize_job(b" " * (MAX_JOB_BYTES + 1))


@pytest.mark.parametrize(
    "changes",
    [
        {"f": 5},
        {"a": "ops"},
        {"a": [[good_op()], "extra"]},
        {"k": []},
        {"k": {"ops": []}},
        {"t": "2"},
        {"t": -1},
        {"et": "yesterday"},
        {"et": 10**20},
    ],
)
def test_an_envelope_arq_would_trip_over_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        deserialize_job(envelope(**changes))


def test_a_sound_envelope_passes_and_other_functions_keep_their_own_arguments() -> None:
    assert deserialize_job(envelope(t=3))["t"] == 3
    assert deserialize_job(envelope(f="naive_persist", a=[good_op()]))["a"] == [good_op()]


def test_one_invalid_op_is_set_aside_and_the_others_kept() -> None:
    job = decode_job([good_op(key="a"), good_op(value={"s": "a\u0000b"}), good_op(key="c"), 7])
    assert [w.key for w in job.writes] == ["a", "c"]
    assert [(bad.index, bad.op) for bad in job.invalid] == [
        (1, good_op(value={"s": "a\u0000b"})),
        (3, 7),
    ]
    assert "NUL" in job.invalid[0].reason


@pytest.mark.parametrize(
    ("ops", "words"),
    [("ops", "list of ops"), ([], "no ops"), ([good_op()] * (MAX_OPS_PER_JOB + 1), "at most")],
)
def test_a_job_whose_argument_is_wrong_is_refused_as_a_whole(ops: Any, words: str) -> None:
    with pytest.raises(MalformedJobError, match=words) as caught:
        decode_job(ops)
    assert caught.value.index is None


def test_the_producer_refuses_a_write_too_large_for_any_job() -> None:
    labels = tuple("x" * 100_000 for _ in range(30))
    with pytest.raises(InvalidWriteError, match=f"at most {MAX_WRITE_BYTES}"):
        encode_put(labels, "k", {"v": 1}, None)
    with pytest.raises(InvalidWriteError, match=f"at most {MAX_WRITE_BYTES}"):
        encode_delete(labels, "k")
