"""The answer of a subcommand that has not landed yet."""

from __future__ import annotations

import sys


def not_yet(command: str) -> int:
    """Say the subcommand is not available yet; exit status 2."""
    print(f"chatmem {command}: not yet available in this version", file=sys.stderr)
    return 2
