from __future__ import annotations

import asyncio

import pytest

from infra.stores.batcher import WriteBatcher


class Recorder:
    """A commit that records its calls, takes a while, and refuses writes named 'bad'."""

    def __init__(self, delay: float = 0.01) -> None:
        self.calls: list[list[str]] = []
        self.delay = delay
        self.active = 0
        self.most_active = 0

    async def __call__(self, writes: list[str]) -> None:
        self.calls.append(list(writes))
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay)
            if "bad" in writes:
                raise ValueError("bad write")
        finally:
            self.active -= 1


async def test_a_lone_caller_is_committed_at_once_and_alone() -> None:
    commit = Recorder(delay=0)
    batcher = WriteBatcher(commit)
    await asyncio.wait_for(batcher.submit(["a"]), 1)
    assert commit.calls == [["a"]]


async def test_concurrent_callers_share_commits_in_submission_order() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit, max_inflight=1)
    await asyncio.gather(*(batcher.submit([f"w{i}"]) for i in range(50)))
    assert len(commit.calls) == 1
    assert commit.calls[0] == [f"w{i}" for i in range(50)]


async def test_callers_arriving_during_a_commit_go_out_together_next() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit, max_inflight=1)
    first = asyncio.create_task(batcher.submit(["first"]))
    await asyncio.sleep(0.001)
    await asyncio.gather(first, *(batcher.submit([f"w{i}"]) for i in range(10)))
    assert commit.calls == [["first"], [f"w{i}" for i in range(10)]]


async def test_commits_in_flight_never_exceed_the_limit_and_share_the_load() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit, max_inflight=2)
    await asyncio.gather(*(batcher.submit([f"w{i}"]) for i in range(40)))
    assert commit.most_active == 2
    assert sorted(len(c) for c in commit.calls) == [20, 20]


async def test_max_batch_caps_one_commit() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit, max_inflight=1, max_batch=4)
    await asyncio.gather(*(batcher.submit(["x", "y"]) for _ in range(5)))
    assert [len(c) for c in commit.calls] == [4, 4, 2]


async def test_a_failing_write_fails_only_its_own_caller() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit, max_inflight=1)
    results = await asyncio.gather(
        batcher.submit(["good1"]),
        batcher.submit(["bad"]),
        batcher.submit(["good2"]),
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], ValueError)
    assert results[2] is None
    assert commit.calls[0] == ["good1", "bad", "good2"]
    assert ["good1"] in commit.calls
    assert ["good2"] in commit.calls


async def test_a_caller_cancelled_before_its_commit_is_left_out() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit, max_inflight=1)
    first = asyncio.create_task(batcher.submit(["first"]))
    await asyncio.sleep(0.001)
    gone = asyncio.create_task(batcher.submit(["gone"]))
    kept = asyncio.create_task(batcher.submit(["kept"]))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(first, kept)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert commit.calls == [["first"], ["kept"]]


async def test_wait_idle_returns_after_writes_in_flight() -> None:
    commit = Recorder()
    batcher = WriteBatcher(commit)
    task = asyncio.create_task(batcher.submit(["a"]))
    await asyncio.sleep(0)
    await batcher.wait_idle()
    assert commit.calls == [["a"]]
    assert task.done()
    await task


async def test_nothing_to_write_commits_nothing() -> None:
    commit = Recorder()
    await WriteBatcher(commit).submit([])
    assert commit.calls == []
