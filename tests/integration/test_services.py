from __future__ import annotations

import pytest

from domain.errors import ConfigurationError, ServiceUnavailableError
from infra.services import Endpoints, ServiceResolver, probe_postgres, probe_redis
from infra.settings import Settings


async def test_configured_services_that_answer_are_used(services: Endpoints) -> None:
    settings = Settings(redis_url=services.redis_url, database_url=services.database_url)
    resolver = ServiceResolver(settings, allow_embedded=False)
    endpoints = await resolver.resolve()
    assert endpoints.redis_url == services.redis_url
    assert endpoints.database_url == services.database_url
    assert endpoints.redis_source == endpoints.postgres_source == "environment"
    assert not resolver.embedded.running


@pytest.mark.parametrize("allow_embedded", [True, False])
async def test_set_but_unreachable_redis_is_an_error_never_a_fallback(
    services: Endpoints, allow_embedded: bool
) -> None:
    settings = Settings(
        redis_url="redis://:hunter2@127.0.0.1:1/0", database_url=services.database_url
    )
    resolver = ServiceResolver(settings, allow_embedded=allow_embedded)
    with pytest.raises(ServiceUnavailableError) as caught:
        await resolver.resolve()
    assert "REDIS_URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert not resolver.embedded.running


async def test_set_but_unreachable_postgres_is_an_error(services: Endpoints) -> None:
    settings = Settings(
        redis_url=services.redis_url, database_url="postgresql://app:hunter2@127.0.0.1:1/mem"
    )
    resolver = ServiceResolver(settings, allow_embedded=True)
    with pytest.raises(ServiceUnavailableError) as caught:
        await resolver.resolve()
    assert "DATABASE_URL" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert not resolver.embedded.running


async def test_unset_and_unreachable_without_embedded_names_the_variable(
    services: Endpoints,
) -> None:
    settings = Settings(database_url=services.database_url)
    resolver = ServiceResolver(
        settings, allow_embedded=False, local_redis_url="redis://127.0.0.1:1/0"
    )
    with pytest.raises(ConfigurationError) as caught:
        await resolver.resolve()
    assert caught.value.variable == "REDIS_URL"
    assert not resolver.embedded.running


async def test_probes_report_versions(services: Endpoints) -> None:
    redis_health = await probe_redis(services.redis_url)
    pg_health = await probe_postgres(services.database_url)
    assert redis_health.ok
    assert pg_health.ok
    assert str(pg_health.version).startswith("postgresql ")
