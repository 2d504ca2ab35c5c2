"""The rules every store write passes before any SQL runs or anything is queued.

PostgresStore, QueuedStore (at the producer) and the worker (a job in Redis
is untrusted input) all check writes with these functions, so a write is
refused with the same clear error wherever it enters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from domain.errors import InvalidNamespaceError, InvalidValueError, InvalidWriteError
from domain.models import Namespace

DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
MAX_KEY_CHARS = 1024
MAX_NAMESPACE_DEPTH = 32
MAX_TTL_MINUTES = 1000 * 366 * 24 * 60
RESERVED_ROOT = "langgraph"

# An escaped NUL in encoded JSON: PostgreSQL's jsonb refuses \u0000 in strings.
# An even run of backslashes before "u0000" is literal text, not an escape.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def validate_namespace(namespace: Any, *, for_write: bool = True) -> Namespace:
    """Check a namespace as langgraph does; return it as a tuple of labels.

    A non-empty tuple of non-empty strings, none containing '.' (the stored
    separator) or NUL; the root label 'langgraph' is reserved for writes.
    """
    if isinstance(namespace, list):
        namespace = tuple(namespace)
    if not isinstance(namespace, tuple):
        raise InvalidNamespaceError(
            f"a namespace is a tuple of strings; got {type(namespace).__name__}"
        )
    if not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    if len(namespace) > MAX_NAMESPACE_DEPTH:
        raise InvalidNamespaceError(
            f"a namespace has at most {MAX_NAMESPACE_DEPTH} labels; got {len(namespace)}"
        )
    validate_labels(namespace)
    if for_write and namespace[0] == RESERVED_ROOT:
        raise InvalidNamespaceError(
            f'Root label for namespace cannot be "{RESERVED_ROOT}". Got: {namespace}'
        )
    return namespace


def validate_labels(labels: tuple[Any, ...]) -> None:
    """Each label a non-empty string without '.' or NUL (also for search prefixes)."""
    for label in labels:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} found in {labels}. Namespace labels "
                f"must be strings, but got {type(label).__name__}."
            )
        if not label:
            raise InvalidNamespaceError(
                f"Namespace labels cannot be empty strings. Got {label!r} in {labels}"
            )
        if "." in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} found in {labels}. "
                "Namespace labels cannot contain periods ('.')."
            )
        if "\x00" in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} found in {labels}. "
                "Namespace labels cannot contain NUL characters."
            )
        if not _utf8(label):
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} found in {labels}. "
                "Namespace labels must be valid Unicode (no lone surrogates)."
            )


def validate_key(key: Any) -> str:
    """A key is a non-empty string without NUL, at most MAX_KEY_CHARS long."""
    if not isinstance(key, str):
        raise InvalidWriteError(f"a key is a string; got {type(key).__name__}")
    if not key:
        raise InvalidWriteError("a key cannot be empty")
    if "\x00" in key:
        raise InvalidWriteError(f"a key cannot contain NUL characters; got {key!r}")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidWriteError(f"a key is at most {MAX_KEY_CHARS} characters; got {len(key)}")
    if not _utf8(key):
        raise InvalidWriteError(f"a key must be valid Unicode (no lone surrogates); got {key!r}")
    return key


def _utf8(text: str) -> bool:
    # PostgreSQL stores text as UTF-8; a lone surrogate would fail deep in the driver.
    if text.isascii():  # the usual case, tested without building the bytes
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def validate_ttl(ttl: Any) -> float | None:
    """A TTL is None (never expires) or a positive number of minutes, at most MAX_TTL_MINUTES."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise InvalidWriteError(f"a ttl is a number of minutes; got {type(ttl).__name__}")
    if not math.isfinite(ttl) or ttl <= 0:
        raise InvalidWriteError(f"a ttl is a positive number of minutes; got {ttl!r}")
    if ttl > MAX_TTL_MINUTES:
        # An expiry beyond any date PostgreSQL or Python holds would fail at commit.
        raise InvalidWriteError(
            f"a ttl is at most {MAX_TTL_MINUTES} minutes (1000 years); got {ttl!r}"
        )
    return float(ttl)


def encode_value(value: Any, *, max_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> bytes:
    """The value as JSON (orjson), after checking it can be stored.

    A value is a mapping with string keys whose contents JSON can carry and
    PostgreSQL's jsonb accepts (no NUL in strings, no NaN or infinity), at
    most ``max_bytes`` once encoded.
    """
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"a value is a dict; got {type(value).__name__}")
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidValueError(f"the value cannot be encoded as JSON: {exc}") from None
    if len(encoded) > max_bytes:
        raise InvalidValueError(
            f"the value is {len(encoded)} bytes as JSON; the limit is {max_bytes} bytes"
        )
    # The substring tests are cheap and rule out most values before the slower checks.
    if b"\\u0000" in encoded and _ESCAPED_NUL.search(encoded):
        raise InvalidValueError("the value contains a NUL character (\\u0000), which jsonb refuses")
    if b"null" in encoded:  # where orjson would have put a NaN or an infinity
        _reject_non_finite(value)
    return encoded


def _reject_non_finite(value: Any) -> None:
    # orjson writes NaN and infinities as null; refuse them instead of changing the value.
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValueError(f"the value contains {value!r}, which JSON cannot carry")
    if isinstance(value, Mapping):
        for item in value.values():
            _reject_non_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_non_finite(item)
