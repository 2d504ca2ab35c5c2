"""Fixtures of the write-queue tests: a queue of the test's own and a Redis client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.redis_client import RedisClient
from infra.stores.keys import QueueKeys
from tests.support import unique_name


@pytest.fixture
def keys() -> QueueKeys:
    """The keys of a queue no other test uses."""
    return QueueKeys(unique_name("chatmem:test-queue"))


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[RedisClient]:
    """A client on this session's (flushed) Redis database."""
    client = RedisClient.from_url(redis_url)
    yield client
    await client.aclose()
