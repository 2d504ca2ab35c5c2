"""The ``chatmem`` command line: one subcommand per module under worker.commands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from domain.errors import ChatMemError, ConfigurationError
from infra.logs import configure_logging
from infra.settings import Settings

# name -> module; each module has HELP, configure(parser) and run(args, settings) -> int.
COMMANDS: dict[str, str] = {
    "worker": "worker.commands.worker",
    "demo": "worker.commands.demo",
    "chat": "worker.commands.chat",
    "loadtest": "worker.commands.loadtest",
    "migrate": "worker.commands.migrate",
    "dlq": "worker.commands.dlq",
    "stats": "worker.commands.stats",
    "doctor": "worker.commands.doctor",
}


class Command(Protocol):
    """What a subcommand module provides."""

    HELP: str

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, settings: Settings) -> int: ...


def _load(name: str) -> Command:
    return cast(Command, importlib.import_module(COMMANDS[name]))


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="chatmem",
        description=(
            "The memory layer of LangGraph chatbots: checkpoints in Redis, long-term "
            "memory in PostgreSQL, written behind an arq queue. Configuration comes from "
            "the environment (REDIS_URL, DATABASE_URL, QUEUE_NAME, ...)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        command = _load(name)
        sub_parser = sub.add_parser(name, help=command.HELP, description=command.HELP)
        command.configure(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, configure logging from the environment, run the subcommand."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"chatmem: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        return _load(args.command).run(args, settings)
    except ChatMemError as exc:
        print(f"chatmem {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
