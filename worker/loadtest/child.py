"""A producer process of ``chatmem loadtest --processes N`` (started by the load test).

Reads one JSON line on stdin (its spec and target), opens its store and says
{"ready": true}; on the next line ({"start_wall": t}) it produces, writing
{"progress": ...} lines a few times a second, then {"result": ...}.
Then, for each {"check": true} line on stdin, {"check": ...}; it exits when
stdin closes. Anything that goes wrong is one {"error": "..."} line.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from typing import Any

import orjson

from infra.logs import configure_logging
from infra.redaction import redact_text
from infra.settings import Settings
from worker.loadtest.handles import Target, open_store
from worker.loadtest.producer import ProducerNode, ProducerSpec, Progress


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def _stdin_lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve() -> None:
    """Produce as the spec on stdin says, then answer check requests until stdin closes."""
    stdin = await _stdin_lines()
    request = orjson.loads(await stdin.readline())
    spec = ProducerSpec.from_json(request["spec"])
    target = Target(**request["target"])

    def report(progress: Progress) -> None:
        _emit({"progress": progress.to_json()})

    async with open_store(target) as store:
        _emit({"ready": True})
        start_wall = orjson.loads(await stdin.readline())["start_wall"]
        node = ProducerNode(replace(spec, start_wall=start_wall), store)
        _emit({"result": (await node.run(report)).to_json()})
    while line := await stdin.readline():
        if orjson.loads(line).get("check"):
            _emit({"check": (await node.check(target.database_url)).to_json()})


def main() -> int:
    """Run one producer process; 0 when it ran, 1 (and an error line) when it failed."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(serve())
    except Exception as exc:
        _emit({"error": redact_text(f"{type(exc).__name__}: {exc}")})
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
