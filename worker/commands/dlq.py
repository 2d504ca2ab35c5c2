"""`chatmem dlq`: Inspect, replay or purge dead-lettered store writes."""

from __future__ import annotations

import argparse

from infra.settings import Settings
from worker.commands.unavailable import not_yet

HELP = "Inspect, replay or purge dead-lettered store writes."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options until the command lands."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Not available yet: exit 2."""
    return not_yet("dlq")
