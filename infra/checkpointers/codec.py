"""How checkpoints, blobs and writes are laid out as Redis values.

Values go through langgraph's serializer and are stored as ``type\\0payload``.
A "pickle" type is refused both ways: nothing on the wire is unpickled.
The manifest is the small JSON part of a checkpoint the Lua scripts read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot

EMPTY_BLOB = b"empty\0"
# Keys langgraph leaves in the metadata of threads that use a DeltaChannel.
DELTA_METADATA_KEYS = ("counters_since_delta_snapshot", "delta_writes_versioned")


def dump_typed(serde: SerializerProtocol, value: Any) -> bytes:
    """``value`` as ``type\\0payload``."""
    type_, payload = serde.dumps_typed(value)
    if type_ == "pickle":
        raise ValueError("the checkpoint serializer produced pickle; use one without pickle")
    return type_.encode() + b"\0" + payload


def load_typed(serde: SerializerProtocol, raw: bytes) -> Any:
    """The value stored as ``type\\0payload``."""
    type_, _, payload = raw.partition(b"\0")
    name = type_.decode()
    if name == "pickle":
        raise ValueError("refusing to load a pickled checkpoint value")
    return serde.loads_typed((name, payload))


def check_serde(serde: SerializerProtocol) -> SerializerProtocol:
    """``serde`` unless it (or the serializer it wraps) falls back to pickle."""
    inner = getattr(serde, "serde", serde)
    if getattr(serde, "pickle_fallback", False) or getattr(inner, "pickle_fallback", False):
        raise ValueError("a serializer with pickle_fallback=True is refused: no pickle")
    return serde


def manifest(checkpoint: Checkpoint, metadata: CheckpointMetadata, parent_id: str | None) -> bytes:
    """What the scripts need to know of a checkpoint, as JSON.

    b: [channel, version] of each blob it reads; p: parent id; u: run id;
    r: the root checkpoint a subgraph call started from. Absent keys are left
    out (the scripts' JSON decoder turns null into a truthy value).
    """
    doc: dict[str, Any] = {
        "b": [
            [channel, str(version)] for channel, version in checkpoint["channel_versions"].items()
        ]
    }
    if parent_id:
        doc["p"] = parent_id
    if run_id := metadata.get("run_id"):
        doc["u"] = str(run_id)
    parents = metadata.get("parents")
    if isinstance(parents, Mapping) and parents.get(""):
        doc["r"] = str(parents[""])
    return orjson.dumps(doc)


def uses_delta(checkpoint: Checkpoint, metadata: CheckpointMetadata) -> bool:
    """Whether this checkpoint belongs to a thread with a DeltaChannel."""
    if any(key in metadata for key in DELTA_METADATA_KEYS):
        return True
    return any(isinstance(v, _DeltaSnapshot) for v in checkpoint["channel_values"].values())


def write_member(ns: str, checkpoint_id: str, task_id: str, idx: int) -> str:
    """A write's name: unique per (checkpoint, task, index), as langgraph wants."""
    return f"{ns}\0{checkpoint_id}\0{task_id}\0{idx}"


def dump_write(serde: SerializerProtocol, task_path: str, channel: str, value: Any) -> bytes:
    """A write's value: JSON [task_path, channel], then the typed value."""
    return orjson.dumps([task_path, channel]) + b"\0" + dump_typed(serde, value)


def load_writes(
    serde: SerializerProtocol, members: list[bytes], values: list[bytes | None]
) -> list[tuple[str, str, Any]]:
    """Pending writes as (task_id, channel, value), in langgraph's writes_sort_key order."""
    rows = []
    for member, raw in zip(members, values, strict=True):
        if raw is None:
            continue
        _, _, task_id, idx = member.decode().rsplit("\0", 3)
        header, _, typed = raw.partition(b"\0")
        task_path, channel = orjson.loads(header)
        rows.append((writes_sort_key(task_path, task_id, int(idx)), task_id, channel, typed))
    rows.sort(key=lambda row: row[0])
    return [(task_id, channel, load_typed(serde, typed)) for _, task_id, channel, typed in rows]


def decode_entries(
    serde: SerializerProtocol, thread_id: str, entries: list[list[Any]]
) -> list[CheckpointTuple]:
    """Checkpoint tuples from what read.lua returned (entries missing a part are skipped)."""
    return [t for e in entries if (t := _decode_entry(serde, thread_id, e)) is not None]


def _decode_entry(
    serde: SerializerProtocol, thread_id: str, entry: list[Any]
) -> CheckpointTuple | None:
    member, raw_checkpoint, raw_metadata, raw_manifest, blobs, w_members, w_values = entry
    if raw_checkpoint is None or raw_metadata is None or raw_manifest is None:
        return None
    ns, _, checkpoint_id = member.decode().rpartition("\0")
    doc = orjson.loads(raw_manifest)
    values = {
        pair[0]: load_typed(serde, raw)
        for pair, raw in zip(doc.get("b") or [], blobs, strict=False)
        if raw is not None and raw != EMPTY_BLOB
    }
    checkpoint = cast(Checkpoint, {**load_typed(serde, raw_checkpoint), "channel_values": values})
    parent_id = doc.get("p")
    return CheckpointTuple(
        config=checkpoint_config(thread_id, ns, checkpoint_id),
        checkpoint=checkpoint,
        metadata=load_typed(serde, raw_metadata),
        parent_config=checkpoint_config(thread_id, ns, parent_id) if parent_id else None,
        pending_writes=load_writes(serde, w_members, w_values),
    )


def checkpoint_config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    """The config that names one checkpoint."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint_id,
        }
    }
