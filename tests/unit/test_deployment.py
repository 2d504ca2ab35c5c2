"""docker-compose.yml and the Dockerfile cannot run here; check what they ask for."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from infra.settings import ENV_VARS
from worker.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _chatmem_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in _compose()["services"].items() if "build" in svc}


def test_every_command_the_compose_file_runs_is_a_chatmem_subcommand() -> None:
    services = _chatmem_services()
    assert {"migrate", "worker"} <= set(services)
    for name, service in services.items():
        command = service["command"]
        assert command[0] == "chatmem", name
        assert command[1] in COMMANDS, f"{name}: {command[1]} is no chatmem subcommand"
        healthcheck = service.get("healthcheck", {}).get("test", [])
        if "chatmem" in healthcheck:
            assert healthcheck[healthcheck.index("chatmem") + 1] in COMMANDS


def test_every_variable_the_compose_file_sets_is_read_by_settings() -> None:
    for name, service in _chatmem_services().items():
        unknown = set(service.get("environment", {})) - set(ENV_VARS)
        assert not unknown, f"{name} sets variables chatmem never reads: {unknown}"


def test_redis_keeps_queued_writes_across_restarts_and_postgres_has_a_volume() -> None:
    services = _compose()["services"]
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1] == (
        "yes"
    )
    assert any("/var/lib/postgresql/data" in v for v in services["postgres"]["volumes"])
    for name in ("redis", "postgres"):
        assert "healthcheck" in services[name]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (
        services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    )
    # Scaling with --scale worker=N needs no fixed name or published port.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]


def test_the_worker_is_healthy_only_while_a_worker_polls_the_queue() -> None:
    test = _compose()["services"]["worker"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "chatmem", "stats"]
    args = build_parser().parse_args(test[2:])  # options chatmem stats really has
    assert args.check


def test_dockerfile_runs_a_chatmem_subcommand() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    match = re.search(r'^CMD \["chatmem", "([a-z]+)"', dockerfile, re.MULTILINE)
    assert match is not None
    assert match.group(1) in COMMANDS
    for package in ("domain", "infra", "worker"):
        assert f"COPY {package} " in dockerfile
