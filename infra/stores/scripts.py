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

ENQUEUE_SCRIPT = resources.files("infra.stores").joinpath("enqueue.lua").read_text()
CLEAR_PENDING_SCRIPT = resources.files("infra.stores").joinpath("clear_pending.lua").read_text()

ScriptArgs = list[str | bytes | int]


@dataclass(frozen=True, slots=True)
class EncodedWrite:
    """A validated write, encoded once: its namespace as stored and its op fragment."""

    namespace_text: str
    key: str
    fragment: bytes


class _Namespaces:
    """Numbers the namespaces a script call touches and lists their two hash keys."""

    def __init__(self, keys: QueueKeys) -> None:
        self._queue_keys = keys
        self._numbers: dict[str, int] = {}
        self.keys: list[str] = []
        self.texts: list[str] = []

    def number(self, text: str) -> int:
        found = self._numbers.get(text)
        if found is not None:
            return found
        number = self._numbers[text] = len(self._numbers) + 1
        self.keys += [
            self._queue_keys.pending_entries(text),
            self._queue_keys.pending_versions(text),
        ]
        self.texts.append(text)
        return number


def new_job_id() -> str:
    """A job id no other job has (arq's job keys are global to the Redis database)."""
    return uuid.uuid4().hex


def enqueue_call(
    keys: QueueKeys, job_id: str, writes: Sequence[EncodedWrite]
) -> tuple[list[str], ScriptArgs]:
    """KEYS and ARGV of the enqueue script for one job carrying ``writes``."""
    namespaces = _Namespaces(keys)
    per_op: ScriptArgs = []
    for write in writes:
        per_op += [namespaces.number(write.namespace_text), write.key, write.fragment]
    script_keys = [
        keys.version_counter,
        keys.queue,
        keys.job(job_id),
        keys.pending_namespaces,
        *namespaces.keys,
    ]
    args: ScriptArgs = [job_id, JOB_HEAD, JOB_OPS_OPEN, JOB_TAIL, len(namespaces.texts)]
    return script_keys, [*args, *namespaces.texts, *per_op]


def clear_call(keys: QueueKeys, committed: Iterable[StoreWrite]) -> tuple[list[str], ScriptArgs]:
    """KEYS and ARGV of the compare-and-delete script for committed writes."""
    namespaces = _Namespaces(keys)
    per_op: ScriptArgs = []
    for write in committed:
        per_op += [namespaces.number(namespace_text(write.namespace)), write.key, write.version]
    script_keys = [keys.pending_namespaces, *namespaces.keys]
    return script_keys, [len(namespaces.texts), *namespaces.texts, *per_op]
