"""`chatmem worker`: Run an arq worker that persists queued store writes to PostgreSQL."""

from __future__ import annotations

import argparse

from infra.settings import Settings
from worker.commands.unavailable import not_yet

HELP = "Run an arq worker that persists queued store writes to PostgreSQL."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options until the command lands."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Not available yet: exit 2."""
    return not_yet("worker")
