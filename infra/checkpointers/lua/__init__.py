"""The Lua scripts of the Redis checkpointer, each made whole with the preludes it uses."""

from __future__ import annotations

from importlib.resources import files

# Scripts on one thread's keys start with the thread prelude; the ones that
# remove checkpoints also with the drop prelude.
_PRELUDES: dict[str, tuple[str, ...]] = {
    "read": ("_thread",),
    "delete": ("_thread",),
    "dump": ("_thread",),
    "load": ("_thread",),
    "drop_runs": ("_thread", "_drop"),
    "prune": ("_thread", "_drop"),
    "run_touch": (),
}

SCRIPT_NAMES = tuple(_PRELUDES)


def source(name: str) -> str:
    """The full text of script ``name``: its preludes, then its body."""
    parts = (*_PRELUDES[name], name)
    return "\n".join((files(__package__) / f"{part}.lua").read_text() for part in parts)
