"""Claiming jobs in one Redis call, and starting them with what that call already read.

arq starts each job with a transaction of its own (GET the job, INCR and
EXPIRE its try counter: five replies to read). StoreWorker's claim script
does the same for every job it claims, in the same call that claims them,
and hands arq's run_job the answers: ``StartedJob`` stands in for the one
pipeline run_job opens first, and checks that it is asked exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix

# arq's expiry of a job's try counter (run_job's EXPIRE), in seconds.
TRY_COUNTER_TTL_S = 88400

# A job is claimed when it is still queued, due, and no worker holds its
# in-progress key. ARGV: now (ms), in-progress TTL (ms), in-progress key
# prefix, this worker's token, "1" to start the claimed jobs as arq's run_job
# would (read the job, count the try) or "0", job and try key prefixes, TTL
# of the try counter (s), then the job ids. Per claimed job the reply holds
# its id and score, and when starting, its payload (nil when it vanished)
# and its try.
CLAIM_SCRIPT = """
local claimed = {}
local start = ARGV[5] == '1'
for i = 9, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1])
     and redis.call('SET', ARGV[3] .. ARGV[i], ARGV[4], 'NX', 'PX', ARGV[2]) then
    claimed[#claimed + 1] = ARGV[i]
    claimed[#claimed + 1] = score
    if start then
      claimed[#claimed + 1] = redis.call('GET', ARGV[6] .. ARGV[i])
      claimed[#claimed + 1] = redis.call('INCR', ARGV[7] .. ARGV[i])
      redis.call('EXPIRE', ARGV[7] .. ARGV[i], ARGV[8])
    end
  end
end
return claimed
"""


def claim_arguments(
    now_ms: int, in_progress_ms: int, token: str, start: bool, job_ids: list[str]
) -> list[str | int]:
    """ARGV of CLAIM_SCRIPT."""
    return [
        now_ms,
        in_progress_ms,
        in_progress_key_prefix,
        token,
        "1" if start else "0",
        job_key_prefix,
        retry_key_prefix,
        TRY_COUNTER_TTL_S,
        *job_ids,
    ]


@dataclass(slots=True)
class Claimed:
    """A job this worker now holds, and, when the claim started it, its payload and try."""

    job_id: str
    score: int
    started: StartedJob | None = None


def parse_claims(reply: list[Any], start: bool) -> list[Claimed]:
    """The claimed jobs in CLAIM_SCRIPT's reply."""
    step = 4 if start else 2
    claims: list[Claimed] = []
    for i in range(0, len(reply), step):
        job_id = reply[i].decode()
        started = StartedJob(job_id, reply[i + 2], int(reply[i + 3])) if start else None
        claims.append(Claimed(job_id, int(float(reply[i + 1])), started))
    return claims


@dataclass(slots=True)
class StartedJob:
    """arq's first pipeline in run_job, already answered by the claim.

    run_job asks for GET of the job, INCR and EXPIRE of its try counter, and
    executes; anything else means arq changed, and the job fails loudly
    instead of running with a wrong try count.
    """

    job_id: str
    payload: bytes | None
    job_try: int
    _asked: list[tuple[str, str]] = field(default_factory=list)

    def pipeline(self, transaction: bool = True) -> StartedJob:
        """This object: the commands are recorded, the answers known."""
        return self

    async def __aenter__(self) -> StartedJob:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def get(self, key: str) -> None:
        """Record arq's GET of the job."""
        self._asked.append(("GET", key))

    def incr(self, key: str) -> None:
        """Record arq's INCR of the try counter."""
        self._asked.append(("INCR", key))

    def expire(self, key: str, seconds: int) -> None:
        """Record arq's EXPIRE of the try counter."""
        self._asked.append(("EXPIRE", f"{key} {seconds}"))

    async def execute(self) -> list[Any]:
        """The answers to GET, INCR and EXPIRE, as Redis gave them in the claim."""
        retry_key = retry_key_prefix + self.job_id
        expected = [
            ("GET", job_key_prefix + self.job_id),
            ("INCR", retry_key),
            ("EXPIRE", f"{retry_key} {TRY_COUNTER_TTL_S}"),
        ]
        if self._asked != expected:
            raise RuntimeError(f"arq's run_job asked {self._asked}, not what the claim answered")
        return [self.payload, self.job_try, True]
