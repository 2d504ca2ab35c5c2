"""`chatmem stats`: queue depth, jobs in progress, pending writes, dead letters, worker health."""

from __future__ import annotations

import argparse

from infra.settings import Settings
from worker.commands.unavailable import not_yet

HELP = "Show queue depth, jobs in progress, pending writes, dead letters, worker health."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options until the command lands."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Not available yet: exit 2."""
    return not_yet("stats")
