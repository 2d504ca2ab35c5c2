"""Where a thread's checkpoints live in Redis, and the config fields that name a thread."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

DEFAULT_KEY_PREFIX = "chatmem:cp"

# The five keys of a thread, in the order the Lua scripts take them (KEYS[1..5]):
# data hash, checkpoint order, write order, run references, run refresh times.
THREAD_KEY_SUFFIXES = ("d", "c", "w", "r", "t")

# langgraph's own wording when a checkpointer gets no thread to work on.
MISSING_THREAD_MESSAGE = (
    "Checkpointer requires one or more of the following 'configurable' "
    "keys: thread_id, checkpoint_ns, checkpoint_id"
)


def check_key_prefix(prefix: str) -> str:
    """``prefix`` if it can start key names; braces would break the hash tags."""
    if not isinstance(prefix, str) or not prefix.strip():
        raise ValueError(f"key_prefix must be a non-empty str, got {prefix!r}")
    if "{" in prefix or "}" in prefix:
        raise ValueError(f"key_prefix must not contain '{{' or '}}': {prefix!r}")
    return prefix


def check_thread_id(thread_id: object) -> str:
    """``thread_id`` if it is a non-empty str, else ValueError in langgraph's words."""
    if isinstance(thread_id, str) and thread_id:
        return thread_id
    # An empty hash tag would scatter the thread over cluster slots.
    raise ValueError(
        f"{MISSING_THREAD_MESSAGE}; thread_id must be a non-empty str, "
        f"got {type(thread_id).__name__} {thread_id!r}"
    )


def configurable(config: RunnableConfig | Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The 'configurable' part of ``config``, or ValueError when it has none."""
    # dict first: an ABC isinstance costs a microsecond on every call.
    conf = config.get("configurable") if isinstance(config, dict | Mapping) else None
    if not isinstance(conf, dict | Mapping) or "thread_id" not in conf:
        raise ValueError(f"{MISSING_THREAD_MESSAGE}; config has no thread_id: {config!r}")
    return conf


def thread_of(config: RunnableConfig) -> tuple[str, str]:
    """The thread id and checkpoint namespace ``config`` addresses."""
    conf = configurable(config)
    ns = conf.get("checkpoint_ns") or ""
    if not isinstance(ns, str):
        raise ValueError(f"checkpoint_ns must be a str, got {type(ns).__name__} {ns!r}")
    return check_thread_id(conf["thread_id"]), ns


# Field names in a thread's data hash. The Lua scripts build the same names;
# a checkpoint member is "ns\0id", a write member "ns\0id\0task\0idx".
def checkpoint_fields(member: str) -> tuple[str, str, str]:
    """The fields of a checkpoint: the checkpoint, its metadata, its manifest."""
    return f"c\0{member}", f"k\0{member}", f"m\0{member}"


def blob_field(ns: str, channel: str, version: str) -> str:
    """The field of one channel value at one version."""
    return f"v\0{ns}\0{channel}\0{version}"


def write_field(member: str) -> str:
    """The field of one pending write."""
    return f"w\0{member}"


DELTA_FIELD = "delta"


class KeyLayout:
    """Key names: ``<prefix>:{<thread_id>}:<suffix>`` and ``<prefix>:run:{<run_id>}``."""

    def __init__(self, prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self.prefix = check_key_prefix(prefix)

    def thread(self, thread_id: str) -> list[str]:
        """The thread's keys; its {hash tag} puts them in one cluster slot."""
        base = f"{self.prefix}:{{{thread_id}}}:"
        return [base + suffix for suffix in THREAD_KEY_SUFFIXES]

    def run(self, run_id: str) -> str:
        """The key that lists the threads holding checkpoints of ``run_id``."""
        return f"{self.prefix}:run:{{{run_id}}}"

    def thread_pattern(self) -> str:
        """A SCAN pattern matching one key (the checkpoint order) of every thread."""
        return re.sub(r"([\\*?\[\]])", r"\\\1", self.prefix) + ":{*}:c"

    def thread_id_of(self, key: str) -> str:
        """The thread id inside a key that ``thread_pattern`` matched."""
        return key[len(self.prefix) + 2 : -3]
