from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from domain.errors import MalformedJobError
from domain.models import StoreWrite
from infra.stores.jobs import (
    JOB_HEAD,
    JOB_OPS_OPEN,
    JOB_TAIL,
    MAX_VERSION,
    complete_op,
    decode_ops,
    deserialize_job,
    encode_op,
    from_epoch_us,
    serialize_job,
    to_epoch_us,
)
from infra.stores.producer import encode_delete, encode_put
from infra.stores.scripts import JobIds

WRITTEN = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def good_op(**changes: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "op": "put",
        "namespace": ["users", "u1"],
        "key": "k",
        "value": {"a": 1},
        "ttl": None,
        "version": 7,
        "written_at": to_epoch_us(WRITTEN),
    }
    op.update(changes)
    return op


def test_a_put_fragment_completed_by_the_script_decodes_to_the_same_write() -> None:
    encoded = encode_put(("users", "ü"), "k", {"tags": [], "nested": {"e": {}}}, 30)
    op = orjson.loads(complete_op(encoded.fragment, 42, to_epoch_us(WRITTEN)))
    [write] = decode_ops([op])
    assert write == StoreWrite(
        "put", ("users", "ü"), "k", {"tags": [], "nested": {"e": {}}}, 30.0, 42, WRITTEN
    )
    assert encoded.namespace_text == "users.ü"


def test_a_delete_fragment_decodes_to_a_delete() -> None:
    encoded = encode_delete(("users", "u1"), "k")
    [write] = decode_ops([orjson.loads(complete_op(encoded.fragment, 3, 1))])
    assert write.is_delete
    assert write.value is None
    assert write.identity == (("users", "u1"), "k")


def test_encode_op_and_decode_ops_round_trip() -> None:
    write = StoreWrite("put", ("a", "b"), "k", {"x": [1, 2]}, None, 99, WRITTEN)
    assert decode_ops([orjson.loads(encode_op(write))]) == [write]


def test_the_envelope_pieces_make_the_json_arq_expects() -> None:
    op = encode_op(StoreWrite("delete", ("a",), "k", None, None, 1, WRITTEN))
    job = deserialize_job(JOB_HEAD + b"1700000000000" + JOB_OPS_OPEN + op + JOB_TAIL)
    assert job == {
        "t": None,
        "f": "persist_store_writes",
        "k": {},
        "et": 1700000000000,
        "a": [[orjson.loads(op)]],
    }


def test_written_at_keeps_every_microsecond() -> None:
    assert from_epoch_us(to_epoch_us(WRITTEN)) == WRITTEN


def test_serialize_job_writes_exceptions_as_text_and_never_pickles() -> None:
    data = serialize_job({"r": ValueError("bad"), "a": ([1],)})
    assert orjson.loads(data) == {"r": "ValueError: bad", "a": [[1]]}
    with pytest.raises(TypeError):
        serialize_job({"r": object()})


def test_deserialize_job_refuses_anything_but_a_json_object() -> None:
    with pytest.raises(TypeError):
        deserialize_job(b"[1, 2]")
    with pytest.raises(orjson.JSONDecodeError):
        deserialize_job(b"\x80\x04pickle")


@pytest.mark.parametrize(
    ("ops", "index", "words"),
    [
        ({"op": "put"}, None, "list of ops"),
        ([], None, "no ops"),
        (["put"], 0, "JSON object"),
        ([good_op(op="upsert")], 0, '"put" or "delete"'),
        ([good_op(namespace=[])], 0, "empty"),
        ([good_op(namespace="users")], 0, "tuple of strings"),
        ([good_op(namespace=["a.b"])], 0, "periods"),
        ([good_op(namespace=["langgraph"])], 0, "Root label"),
        ([good_op(key="")], 0, "empty"),
        ([good_op(key=5)], 0, "string"),
        ([good_op(value=[1])], 0, "dict"),
        ([good_op(value="text")], 0, "dict"),
        ([good_op(value={"s": "a\u0000b"})], 0, "NUL"),
        ([good_op(ttl=-1)], 0, "positive"),
        ([good_op(ttl="5")], 0, "number"),
        ([good_op(op="delete", value={"a": 1})], 0, "neither value nor ttl"),
        ([good_op(version=None)], 0, "version"),
        ([good_op(version=True)], 0, "version"),
        ([good_op(version=1.5)], 0, "version"),
        ([good_op(version=0)], 0, "version"),
        ([good_op(version=MAX_VERSION + 1)], 0, "version"),
        ([good_op(written_at="2026-01-01")], 0, "written_at"),
        ([good_op(), good_op(key=None)], 1, "string"),
        ([good_op(namespace=["users", ""])], 0, "empty"),
        ([good_op(namespace=["users", "a.b"])], 0, "periods"),
        ([good_op(namespace=["users", 5])], 0, "strings"),
        ([good_op(namespace=["users", "a\u0000"])], 0, "NUL"),
        ([good_op(namespace=["u"] * 33)], 0, "at most"),
        ([good_op(key="k\u0000")], 0, "NUL"),
        ([good_op(key="k" * 1025)], 0, "at most"),
        ([good_op(key="\ud800")], 0, "Unicode"),
        ([good_op(namespace=["users", "\udc00"])], 0, "Unicode"),
        ([good_op(op="delete", value=None, ttl=5)], 0, "neither value nor ttl"),
        ([good_op(written_at=0)], 0, "written_at"),
        ([good_op(value={"f": float("nan")})], 0, "JSON cannot carry"),
        ([good_op(value={"s": {1, 2}})], 0, "cannot be encoded"),
    ],
)
def test_a_malformed_job_is_refused_naming_the_op_and_the_reason(
    ops: Any, index: int | None, words: str
) -> None:
    with pytest.raises(MalformedJobError) as caught:
        decode_ops(ops)
    assert caught.value.index == index
    assert words in str(caught.value)


def test_an_oversize_value_in_a_job_is_refused() -> None:
    with pytest.raises(MalformedJobError, match="limit"):
        decode_ops([good_op(value={"s": "x" * 100})], max_value_bytes=50)


def test_the_reserved_root_label_bars_puts_but_not_deletes() -> None:
    delete = good_op(op="delete", value=None, namespace=["langgraph", "x"])
    assert decode_ops([delete])[0].namespace == ("langgraph", "x")
    assert encode_delete(("langgraph", "x"), "k").namespace_text == "langgraph.x"


@pytest.mark.parametrize(
    "op",
    [
        good_op(),
        good_op(ttl=30),
        good_op(ttl=1),
        good_op(namespace=["users", "ü"], key="clé"),
        good_op(namespace=["x"] * 32, key="k" * 1024),
        good_op(op="delete", value=None),
        good_op(op="delete", value=None, namespace=["langgraph", "x"]),
        good_op(value={"n": None, "tags": [], "deep": {"e": {}}}),
        good_op(version=MAX_VERSION),
    ],
)
def test_every_valid_op_decodes_to_its_write_by_either_path(op: dict[str, Any]) -> None:
    [write] = decode_ops([op])
    ttl = None if op["ttl"] is None else float(op["ttl"])
    expected = StoreWrite(
        op["op"], tuple(op["namespace"]), op["key"], op["value"], ttl, op["version"], WRITTEN
    )
    assert write == expected
    assert type(write.ttl_minutes) is type(expected.ttl_minutes)


def test_fields_a_worker_does_not_know_are_ignored() -> None:
    [write] = decode_ops([good_op(index=["text"], tenant="t1")])
    assert write.key == "k"


def test_job_ids_never_repeat_within_or_across_producers() -> None:
    first, second = JobIds(), JobIds()
    ids = [first.next() for _ in range(1000)] + [second.next() for _ in range(1000)]
    assert len(set(ids)) == 2000
