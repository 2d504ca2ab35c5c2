"""`chatmem demo`: Run a scripted conversation on the real stack and show what is stored where."""

from __future__ import annotations

import argparse

from infra.settings import Settings
from worker.commands.unavailable import not_yet

HELP = "Run a scripted conversation on the real stack and show what is stored where."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options until the command lands."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Not available yet: exit 2."""
    return not_yet("demo")
