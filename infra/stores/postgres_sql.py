"""The SQL of PostgresStore's reads, namespace listings and sweeps; every value a parameter.

Statements are assembled only from the fixed fragments below; what a caller
supplies (namespaces, keys, filter paths and operands, pages) travels as
parameters. An item is visible when it is live: not a tombstone, not expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from infra.stores.matching import WILDCARD, Condition
from infra.stores.ops import Listing, Search
from infra.stores.validation import MAX_NAMESPACE_DEPTH
from infra.stores.writes import namespace_text

LIVE = "s.value IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > now())"
COLUMNS = "s.namespace, s.key, s.value, s.version, s.created_at, s.updated_at"
NEWEST_FIRST = 's.updated_at DESC, s.namespace, s.key COLLATE "C"'

# Reading a TTL item restarts its clock; a tombstone or an expired item stays as it is.
REFRESH = f"""refreshed AS (
    UPDATE chatmem_store s
    SET expires_at = now() + make_interval(secs => s.ttl_minutes * 60)
    FROM found f
    WHERE f.refresh AND s.namespace = f.namespace AND s.key = f.key
      AND s.ttl_minutes IS NOT NULL AND {LIVE}
)"""

_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class Params:
    """Collects the arguments of one statement and hands out their placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def get_statement(*, refresh: bool, include_dead: bool) -> str:
    """Rows for ($1 namespaces, $2 keys[, $3 refresh flags]), with a ``live`` column."""
    where = "" if include_dead else f"WHERE {LIVE}"
    if not refresh:
        return f"""
SELECT {COLUMNS}, ({LIVE}) AS live
FROM unnest($1::text[], $2::text[]) AS w(namespace, key)
JOIN chatmem_store s ON s.namespace = w.namespace AND s.key = w.key
{where}"""
    return f"""
WITH found AS (
    SELECT {COLUMNS}, ({LIVE}) AS live, w.refresh
    FROM unnest($1::text[], $2::text[], $3::bool[]) AS w(namespace, key, refresh)
    JOIN chatmem_store s ON s.namespace = w.namespace AND s.key = w.key
    {where}
), {REFRESH}
SELECT namespace, key, value, version, created_at, updated_at, live FROM found"""


def search_statement(search: Search) -> tuple[str, list[Any]]:
    """Live items under the prefix that pass the filter, newest first, one page."""
    p = Params()
    where = [LIVE]
    if search.prefix:
        where.append(prefix_range(namespace_text(search.prefix), p))
    where.extend(condition_sql(c, p) for c in search.conditions)
    page = f"LIMIT {p(search.limit)}::int8 OFFSET {p(search.offset)}::int8"
    hits = f"""
SELECT {COLUMNS}, true AS refresh FROM chatmem_store s
WHERE {" AND ".join(where)}
ORDER BY {NEWEST_FIRST} {page}"""
    if not search.refresh:
        return hits, p.values
    sql = f"""
WITH found AS ({hits}), {REFRESH}
SELECT {COLUMNS} FROM found s ORDER BY {NEWEST_FIRST}"""
    return sql, p.values


def prefix_range(prefix: str, p: Params) -> str:
    """The namespace is ``prefix`` or lies under it, on whole labels, as one index range.

    In the "C" collation '/' follows '.', so [prefix, prefix + '/') holds the
    prefix and everything that continues it; the rest of the test drops
    siblings such as 'ab' or 'a-b' for the prefix 'a'.
    """
    exact, end, below = p(prefix), p(prefix + "/"), p(prefix + ".")
    return (
        f"s.namespace >= {exact} AND s.namespace < {end} "
        f"AND (s.namespace = {exact} OR s.namespace >= {below})"
    )


def condition_sql(c: Condition, p: Params) -> str:
    """One filter condition (see matching) on the row's value."""
    path = p(list(c.path))
    at = f"s.value #> {path}::text[]"
    if c.kind in ("eq", "ne"):
        sign = "=" if c.kind == "eq" else "<>"
        return f"coalesce({at}, 'null'::jsonb) {sign} {p(_json(c.operand))}::text::jsonb"
    if c.kind == "object":
        return f"jsonb_typeof({at}) = 'object'"
    if c.kind == "array":
        return (
            f"CASE WHEN jsonb_typeof({at}) = 'array' "
            f"THEN jsonb_array_length({at}) = {p(c.operand)}::int ELSE false END"
        )
    sign = _COMPARE[c.kind]
    # CASE, unlike AND, guarantees the cast runs only on a value of the right type.
    if isinstance(c.operand, str):
        return (
            f"CASE WHEN jsonb_typeof({at}) = 'string' THEN "
            f'(s.value #>> {path}::text[]) COLLATE "C" {sign} {p(c.operand)}::text ELSE false END'
        )
    return (
        f"CASE WHEN jsonb_typeof({at}) = 'number' THEN "
        f"({at})::numeric {sign} {p(_json(c.operand))}::text::numeric ELSE false END"
    )


def _json(value: Any) -> str:
    # As text, so that a JSON null is not taken for an SQL NULL parameter.
    return orjson.dumps(value).decode()


def listing_statement(listing: Listing) -> tuple[str, list[Any]]:
    """Distinct live namespaces meeting every condition, truncated, sorted as tuples, one page."""
    p = Params()
    where = [LIVE]
    for condition in listing.conditions:
        lead = _literal_lead(condition.path) if condition.match_type == "prefix" else ()
        if lead:
            where.append(prefix_range(namespace_text(lead), p))
    tests = [_label_test(c.match_type, c.path, p) for c in listing.conditions] or ["true"]
    depth = p(listing.max_depth or MAX_NAMESPACE_DEPTH)
    sql = f"""
SELECT DISTINCT (x.l[1:{depth}::int]) COLLATE "C" AS labels
FROM (SELECT DISTINCT s.namespace FROM chatmem_store s WHERE {" AND ".join(where)}) n
CROSS JOIN LATERAL (SELECT string_to_array(n.namespace, '.') AS l) x
WHERE {" AND ".join(tests)}
ORDER BY labels
LIMIT {p(listing.limit)}::int8 OFFSET {p(listing.offset)}::int8"""
    return sql, p.values


def _literal_lead(path: Sequence[str]) -> tuple[str, ...]:
    lead: list[str] = []
    for label in path:
        if label == WILDCARD:
            break
        lead.append(label)
    return tuple(lead)


def _label_test(match_type: str, path: Sequence[str], p: Params) -> str:
    # A wildcard travels as NULL, and NULL <> label is never true: it matches any label.
    pattern = p([None if label == WILDCARD else label for label in path])
    n = f"cardinality({pattern}::text[])"
    index = "m.i" if match_type == "prefix" else f"cardinality(x.l) - {n} + m.i"
    return (
        f"cardinality(x.l) >= {n} AND NOT EXISTS (SELECT FROM unnest({pattern}::text[]) "
        f"WITH ORDINALITY AS m(label, i) WHERE m.label <> x.l[{index}])"
    )


# An expired item becomes a tombstone that keeps its version, so that a late,
# older queued put cannot bring it back; its retention counts from the expiry.
EXPIRE_ITEMS = """
UPDATE chatmem_store s
SET value = NULL, updated_at = s.expires_at, expires_at = NULL, ttl_minutes = NULL
FROM (
    SELECT namespace, key FROM chatmem_store
    WHERE expires_at <= now()
    LIMIT $1 FOR UPDATE SKIP LOCKED
) e
WHERE s.namespace = e.namespace AND s.key = e.key
"""

DROP_TOMBSTONES = """
DELETE FROM chatmem_store s
USING (
    SELECT namespace, key FROM chatmem_store
    WHERE value IS NULL AND updated_at < now() - $1::interval
    LIMIT $2 FOR UPDATE SKIP LOCKED
) d
WHERE s.namespace = d.namespace AND s.key = d.key
"""
