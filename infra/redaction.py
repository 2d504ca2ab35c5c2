"""Keep secrets out of logs and error messages."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

_SECRET_QUERY = re.compile(r"(?i)(password|passwd|sslpassword|secret|token)=([^&]*)")
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]*)@")


def redact_url(url: str) -> str:
    """The URL with its password (and any secret query value) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.password is None and not _SECRET_QUERY.search(parts.query):
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{user}:***@{host}"
    query = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", parts.query)
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Any ``scheme://user:password@`` inside free text, with the password hidden."""
    text = _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:***@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
