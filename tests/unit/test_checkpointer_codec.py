"""How values, manifests and writes are framed, and that pickle never gets through."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_metadata
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from redis.asyncio.connection import Connection
from redis.exceptions import NoScriptError, ResponseError

from infra.checkpointers import store as store_module
from infra.checkpointers.codec import (
    EMPTY_BLOB,
    check_serde,
    dump_typed,
    dump_write,
    load_typed,
    load_writes,
    manifest,
    uses_delta,
    write_member,
)
from infra.checkpointers.connections import pack, reply_error
from infra.checkpointers.keys import KeyLayout
from infra.checkpointers.scripts import UNAVAILABLE_ERRORS
from infra.checkpointers.store import Lifetimes, ThreadStore
from infra.redis_client import RedisClient

SERDE = JsonPlusSerializer()


@pytest.mark.parametrize("value", [None, b"raw\0bytes", "text", {"a": [1, 2.5, None]}, 2**63 - 1])
def test_values_round_trip_through_langgraphs_serializer(value: object) -> None:
    assert load_typed(SERDE, dump_typed(SERDE, value)) == value


def test_a_pickle_is_neither_written_nor_read() -> None:
    with pytest.raises(ValueError, match="pickle"):
        load_typed(SERDE, b"pickle\0\x80\x04K\x01.")

    class Pickler:
        def dumps_typed(self, value: object) -> tuple[str, bytes]:
            return "pickle", b""

        def loads_typed(self, data: tuple[str, bytes]) -> object:
            raise AssertionError("never called")

    with pytest.raises(ValueError, match="pickle"):
        dump_typed(Pickler(), 1)


def test_serializers_that_fall_back_to_pickle_are_refused() -> None:
    assert check_serde(SERDE) is SERDE
    with pytest.raises(ValueError, match="pickle"):
        check_serde(JsonPlusSerializer(pickle_fallback=True))
    encrypted = EncryptedSerializer(cipher=object(), serde=JsonPlusSerializer())  # type: ignore[arg-type]
    assert check_serde(encrypted) is encrypted
    leaky = EncryptedSerializer(cipher=object(), serde=JsonPlusSerializer(pickle_fallback=True))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pickle"):
        check_serde(leaky)


def test_the_manifest_says_what_the_scripts_need_and_nothing_null() -> None:
    checkpoint = generate_checkpoint(channel_versions={"messages": "00002.0.5", "n": 3})
    metadata = generate_metadata(run_id="run-9", parents={"": "root-1"})
    assert manifest(checkpoint, metadata, "parent-1") == (
        b'{"b":[["messages","00002.0.5"],["n","3"]],"p":"parent-1","u":"run-9","r":"root-1"}'
    )
    assert manifest(generate_checkpoint(), generate_metadata(), None) == b'{"b":[]}'


def test_delta_channels_are_recognised_by_metadata_or_snapshot() -> None:
    assert not uses_delta(generate_checkpoint(), generate_metadata())
    assert uses_delta(generate_checkpoint(), generate_metadata(delta_writes_versioned=True))
    snapshot = generate_checkpoint(channel_values={"x": _DeltaSnapshot([1])})
    assert uses_delta(snapshot, generate_metadata())


def test_pending_writes_come_back_in_langgraphs_order() -> None:
    rows = [
        ("b-path", "task-2", 0, "late"),
        ("a-path", "task-9", 1, "second"),
        ("a-path", "task-9", 0, "first"),
        ("", "task-0", -1, "error"),
    ]
    members = [write_member("", "cp-1", task, idx).encode() for _, task, idx, _ in rows]
    values = [dump_write(SERDE, path, "ch", value) for path, _, _, value in rows]
    loaded = load_writes(SERDE, members, [*values[:-1], None])
    assert loaded == [
        ("task-9", "ch", "first"),
        ("task-9", "ch", "second"),
        ("task-2", "ch", "late"),
    ]
    assert EMPTY_BLOB.startswith(b"empty\0")


def test_commands_are_packed_as_redis_py_packs_them() -> None:
    commands = [("HSET", "k{t}", "f\0x", b"\xffbin\r\n", 42), ("PING",)]
    expected = b"".join(b"".join(Connection().pack_command(*command)) for command in commands)
    assert pack(commands) == expected


def test_error_replies_say_whether_to_reload_scripts_or_call_redis_unavailable() -> None:
    assert isinstance(reply_error("NOSCRIPT No matching script"), NoScriptError)
    assert isinstance(reply_error("LOADING Redis is loading the dataset"), UNAVAILABLE_ERRORS)
    plain = reply_error("ERR wrong number of arguments")
    assert type(plain) is ResponseError
    assert not isinstance(plain, UNAVAILABLE_ERRORS)


@pytest.mark.parametrize(
    ("minutes", "refresh", "expected"),
    [
        (60, True, (3_600_000, 3_600_000, 7_200_000)),
        (1, False, (60_000, -1, 120_000)),
        (None, True, (0, 0, 0)),
        (None, False, (0, -1, 0)),
        (0.0001, True, (6, 6, 12)),
    ],
)
def test_lifetimes_in_the_scripts_terms(
    minutes: float | None, refresh: bool, expected: tuple[int, int, int]
) -> None:
    lifetimes = Lifetimes.from_minutes(minutes, refresh_on_read=refresh)
    assert (lifetimes.write, lifetimes.read, lifetimes.run) == expected


@pytest.mark.parametrize("minutes", [0, -1, float("inf"), float("nan"), True])
def test_a_ttl_that_is_not_a_positive_number_is_refused(minutes: float) -> None:
    with pytest.raises(ValueError, match="ttl_minutes"):
        Lifetimes.from_minutes(minutes, refresh_on_read=True)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(60, ("PEXPIRE", 3_600_000)), (None, ("PERSIST",))],
)
async def test_a_threads_keys_and_ttl_commands_are_built_once_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch, minutes: float | None, expected: tuple[str, ...]
) -> None:
    monkeypatch.setattr(store_module, "KNOWN_THREADS", 3)
    client = RedisClient.from_url("redis://127.0.0.1:1/0")  # never connected
    layout = KeyLayout("cp-unit")
    store = ThreadStore(client, layout, Lifetimes.from_minutes(minutes, refresh_on_read=True))
    first = store.thread("t0")
    assert first.keys == layout.thread("t0")
    assert first.touch == pack([(expected[0], key, *expected[1:]) for key in layout.thread("t0")])
    assert store.thread("t0") is first
    for n in range(1, 4):
        store.thread(f"t{n}")
    # The oldest thread made room; it is built again, equal, when it comes back.
    again = store.thread("t0")
    assert again is not first
    assert again == first
    await client.aclose()
