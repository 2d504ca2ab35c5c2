from __future__ import annotations

import pytest

from infra.redaction import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:s3cret@h:6380/1", "rediss://user:***@h:6380/1"),
        (
            "postgresql://app:s3cret@db/mem?sslmode=require",
            "postgresql://app:***@db/mem?sslmode=require",
        ),
        ("postgresql://app@db/mem?password=s3cret", "postgresql://app@db/mem?password=***"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix:///tmp/x.sock?db=3", "unix:///tmp/x.sock?db=3"),
    ],
)
def test_redact_url_hides_only_the_secret(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_finds_urls_inside_messages() -> None:
    text = "could not connect to postgresql://app:s3cret@db:5432/mem: refused"
    assert redact_text(text) == "could not connect to postgresql://app:***@db:5432/mem: refused"
