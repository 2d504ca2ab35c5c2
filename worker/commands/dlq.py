"""`chatmem dlq`: Inspect, replay or purge dead-lettered store writes.

Exit status: 0 when everything asked for was done, 1 when some entries were
not found or could not be replayed (or Redis did not answer), 2 on a usage
error (a purge without --yes).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from infra.redis_client import RedisClient
from infra.settings import Settings
from infra.stores.dead_letter_admin import DeadLetter, DeadLetterAdmin
from infra.stores.keys import QueueKeys

HELP = "Inspect, replay or purge dead-lettered store writes."


def configure(parser: argparse.ArgumentParser) -> None:
    """The list, replay and purge actions."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show dead letters, oldest first")
    listing.add_argument("--limit", type=_positive, default=50, help="at most N (default 50)")
    listing.add_argument("--json", action="store_true", help="one JSON document, full entries")
    replay = actions.add_parser(
        "replay", help="put the ops back on the queue with their original versions"
    )
    _selection(replay)
    purge = actions.add_parser("purge", help="delete dead letters for good")
    _selection(purge)
    purge.add_argument("--yes", action="store_true", help="confirm the deletion")


def _selection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--id", dest="ids", action="append", metavar="ID", help="an entry id")
    group.add_argument("--all", action="store_true", help="every entry")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text}")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the action against REDIS_URL (or the local default) and QUEUE_NAME."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    keys = QueueKeys(settings.queue_name)
    async with RedisClient.from_url(settings.redis_target) as redis:
        await redis.ping()
        admin = DeadLetterAdmin(redis, keys)
        if args.action == "list":
            return await _list(admin, keys, args.limit, as_json=args.json)
        ids = None if args.all else list(args.ids)
        if args.action == "replay":
            return await _replay(admin, ids)
        return await _purge(admin, ids, confirmed=args.yes)


async def _list(admin: DeadLetterAdmin, keys: QueueKeys, limit: int, *, as_json: bool) -> int:
    total = await admin.count()
    entries = await admin.entries(limit)
    if as_json:
        document = {
            "stream": keys.dead_letters,
            "count": total,
            "entries": [e.as_json() for e in entries],
        }
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    shown = f", the oldest {len(entries)} shown" if len(entries) < total else ""
    print(f"{total} dead letter{'s' if total != 1 else ''} in {keys.dead_letters}{shown}")
    for entry in entries:
        print(
            f"{entry.id}  {entry.failed_at}  {entry.kind:<9}  tries {entry.tries:<3}  "
            f"job {_clean(entry.job_id, 32)}"
        )
        print(f"    {_what(entry)}")
        print(f"    error: {_clean(entry.error, 300)}")
    return 0


def _what(entry: DeadLetter) -> str:
    if entry.op is None:
        size = entry.payload_bytes or len(entry.payload or b"")
        return f"raw job payload, {size} bytes (see --json)"
    try:
        op = orjson.loads(entry.op)
        ns = ".".join(op["namespace"])
        return _clean(f"{op['op']} {ns} / {op['key']} (version {op['version']})", 300)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _clean(f"op {entry.op.decode(errors='replace')}", 300)


def _clean(text: str, width: int) -> str:
    """Text from Redis made safe for a terminal: control characters escaped, cut at ``width``."""
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return safe if len(safe) <= width else safe[: width - 1] + "…"


async def _replay(admin: DeadLetterAdmin, ids: list[str] | None) -> int:
    report = await admin.replay(ids)
    print(f"replayed {len(report.replayed)} dead letter{'s' if len(report.replayed) != 1 else ''}")
    for entry_id, reason in report.refused:
        print(f"not replayed {_clean(entry_id, 40)}: {_clean(reason, 300)}", file=sys.stderr)
    for entry_id in report.missing:
        print(f"not found {_clean(entry_id, 40)}", file=sys.stderr)
    return 1 if report.refused or report.missing else 0


async def _purge(admin: DeadLetterAdmin, ids: list[str] | None, *, confirmed: bool) -> int:
    if not confirmed:
        count = await admin.count() if ids is None else len(ids)
        print(
            f"chatmem dlq purge: this deletes {count} dead letter{'s' if count != 1 else ''} "
            "for good; add --yes to do it",
            file=sys.stderr,
        )
        return 2
    purged, missing = await admin.purge(ids)
    print(f"purged {purged} dead letter{'s' if purged != 1 else ''}")
    for entry_id in missing:
        print(f"not found {_clean(entry_id, 40)}", file=sys.stderr)
    return 1 if missing else 0
