"""The two Lua scripts of the write queue and the KEYS/ARGV they are called with."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from domain.models import StoreWrite
from infra.stores.jobs import JOB_HEAD, JOB_OPS_OPEN, JOB_TAIL
from infra.stores.keys import QueueKeys
from infra.stores.writes import namespace_text


def _script(name: str) -> str:
    lua = resources.files("infra.stores")
    return lua.joinpath("triples.lua").read_text() + lua.joinpath(name).read_text()


ENQUEUE_SCRIPT = _script("enqueue.lua")
CLEAR_PENDING_SCRIPT = _script("clear_pending.lua")

ScriptArgs = list[str | bytes | int]


@dataclass(frozen=True, slots=True)
class EncodedWrite:
    """A validated write, encoded once: its namespace as stored and its op fragment."""

    namespace_text: str
    key: str
    fragment: bytes


def new_job_id() -> str:
    """A job id no other job has (arq's job keys are global to the Redis database)."""
    return uuid.uuid4().hex


def enqueue_call(
    keys: QueueKeys, job_id: str, writes: Sequence[EncodedWrite]
) -> tuple[list[str], ScriptArgs]:
    """KEYS and ARGV of the enqueue script for one job carrying ``writes``."""
    fields: list[bytes] = []
    for write in writes:
        fields += [write.namespace_text.encode(), write.key.encode(), write.fragment]
    script_keys = [keys.version_counter, keys.queue, keys.job(job_id), keys.pending_namespaces]
    args: ScriptArgs = [
        job_id,
        JOB_HEAD,
        JOB_OPS_OPEN,
        JOB_TAIL,
        keys.pending_entries(""),
        keys.pending_versions(""),
        b"\0".join(fields),
    ]
    return script_keys, args


def clear_call(keys: QueueKeys, committed: Iterable[StoreWrite]) -> tuple[list[str], ScriptArgs]:
    """KEYS and ARGV of the compare-and-delete script for committed writes."""
    fields: list[bytes] = []
    for write in committed:
        fields += [
            namespace_text(write.namespace).encode(),
            write.key.encode(),
            b"%d" % write.version,
        ]
    blob = b"\0".join(fields)
    return [keys.pending_namespaces], [keys.pending_entries(""), keys.pending_versions(""), blob]
