"""StoreWorker: arq's Worker, claiming the due jobs of a poll in one Redis call.

arq claims jobs one at a time, with four round trips each (WATCH, EXISTS,
ZSCORE, MULTI/EXEC), and re-examines on every poll the jobs it is already
running. With many small jobs a second that is most of a worker's time, so
StoreWorker claims them all at once with a script that applies the same rule:
a job is taken when it is still queued, due, and no worker holds its
in-progress key. Everything else (running, retrying, finishing) is arq's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import arq.worker
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker

CLAIM_SCRIPT = """
local claimed = {}
for i = 4, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1])
     and redis.call('SET', ARGV[3] .. ARGV[i], '1', 'NX', 'PX', ARGV[2]) then
    claimed[#claimed + 1] = ARGV[i]
    claimed[#claimed + 1] = score
  end
end
return claimed
"""


def describe_arguments(args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """What arq's per-job log line shows of a job's arguments: their size only.

    arq prints the start of their repr, which is user data (values written to
    the store) and, for a job of many ops, costly to build on every run.
    """
    if len(args) == 1 and isinstance(args[0], list):
        return f"{len(args[0])} ops"
    return f"{len(args)} arguments"


# arq's run_job calls the function it imported by name; replacing it there is
# the only way to keep job contents out of its log lines.
arq.worker.args_to_string = describe_arguments  # type: ignore[attr-defined]


class StoreWorker(Worker):
    """arq's Worker with batched job claiming (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claim: Any = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Claim as many of ``job_ids`` as there are free slots, and run them."""
        candidates = [job_id for job_id in map(bytes.decode, job_ids) if job_id not in self.tasks]
        while candidates:
            free = self.max_jobs - self.job_counter
            if free <= 0:
                return
            batch, candidates = candidates[:free], candidates[free:]
            for job_id, score in await self._claim_jobs(batch):
                # The semaphore and the counter are arq's bookkeeping of running jobs.
                await self.sem.acquire()
                self.job_counter += 1
                task = self.loop.create_task(self.run_job(job_id, score))
                task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[job_id] = task

    async def _claim_jobs(self, job_ids: list[str]) -> list[tuple[str, int]]:
        if self._claim is None:
            self._claim = self.pool.register_script(CLAIM_SCRIPT)
        ttl_ms = int(self.in_progress_timeout_s * 1000)
        args = [timestamp_ms(), ttl_ms, in_progress_key_prefix, *job_ids]
        reply = await self._claim(keys=[self.queue_name], args=args)
        return [(reply[i].decode(), int(float(reply[i + 1]))) for i in range(0, len(reply), 2)]
