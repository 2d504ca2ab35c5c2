"""The loss check: every acknowledged write is in PostgreSQL with its latest value.

A producer remembers, per key, the value of its last acknowledged write (or
that it was a delete). Once the queue has drained, each key's row must hold
exactly that value; a delete must have left no row or a tombstone. A key
whose last write failed is not judged: that write may or may not have been
accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import asdict, dataclass, field
from typing import Any

from infra.postgres_client import Connection
from worker.loadtest.workload import prefix_range

Ident = tuple[str, str]
MAX_EXAMPLES = 5

ROWS_UNDER_PREFIX = """
SELECT namespace, key, value FROM chatmem_store
WHERE namespace >= $1 AND namespace < $2
"""


@dataclass
class LossCheck:
    """What the check found; ``lost`` counts acknowledged writes PostgreSQL does not reflect."""

    keys: int = 0
    missing: int = 0
    stale: int = 0
    resurrected: int = 0
    unverifiable: int = 0
    rows: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Keys whose last acknowledged write is not what PostgreSQL holds."""
        return self.missing + self.stale + self.resurrected

    def merge(self, other: LossCheck) -> None:
        """Add another producer's findings."""
        for name in ("keys", "missing", "stale", "resurrected", "unverifiable", "rows"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.examples = (self.examples + other.examples)[:MAX_EXAMPLES]

    def to_json(self) -> dict[str, Any]:
        """The figures, ``lost`` included."""
        return {**asdict(self), "lost": self.lost}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LossCheck:
        """The check to_json described."""
        return cls(**{k: v for k, v in data.items() if k != "lost"})


async def check_writes(
    conn: Connection,
    prefix: str,
    expected: Mapping[Ident, Mapping[str, Any] | None],
    unverifiable: Set[Ident],
) -> LossCheck:
    """Compare the rows under the namespace ``prefix`` with the last acknowledged writes."""
    low, high = prefix_range(prefix)
    stored = {
        (r["namespace"], r["key"]): r["value"]
        for r in await conn.fetch(ROWS_UNDER_PREFIX, low, high)
    }
    result = LossCheck(keys=len(expected), unverifiable=len(unverifiable), rows=len(stored))
    for ident, value in expected.items():
        if ident in unverifiable:
            continue
        found = stored.get(ident)
        if value is None:
            if found is not None:
                result.resurrected += 1
                _example(result, ident, "deleted, but PostgreSQL holds a value")
        elif found is None:
            result.missing += 1
            _example(result, ident, "acknowledged, but not in PostgreSQL")
        elif found != value:
            result.stale += 1
            _example(result, ident, f"holds write {found.get('write')}, not {value.get('write')}")
    return result


def _example(result: LossCheck, ident: Ident, problem: str) -> None:
    if len(result.examples) < MAX_EXAMPLES:
        result.examples.append(f"{ident[0]} / {ident[1]}: {problem}")
