"""langgraph's checkpointer conformance suite, every capability, on the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES

from infra.checkpointers import RedisCheckpointSaver


async def test_every_conformance_capability_runs_and_passes(redis_url: str) -> None:
    @checkpointer_test(name="RedisCheckpointSaver")
    async def saver() -> AsyncIterator[RedisCheckpointSaver]:
        async with RedisCheckpointSaver.from_url(redis_url, key_prefix="conformance") as s:
            yield s

    report = await validate(saver)
    report.print_report()  # shown with pytest -s; the README quotes it

    ran = {name for name, result in report.results.items() if result.detected}
    assert ran == {cap.value for cap in ALL_CAPABILITIES}
    failures = {name: r.failures for name, r in report.results.items() if not r.passed}
    assert failures == {}
    assert sum(r.tests_passed for r in report.results.values()) == 81
    assert report.conformance_level() == "FULL"
