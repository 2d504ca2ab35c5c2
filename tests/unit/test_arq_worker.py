from __future__ import annotations

import arq.worker

from infra.settings import Settings
from infra.stores.jobs import FUNCTION_NAME, serialize_job
from worker.arq_worker import StoreWorker, describe_arguments
from worker.settings import (
    COMMITTER_GRACE_S,
    JOB_COMPLETION_WAIT_S,
    POOL_CLOSE_S,
    arq_pool,
    build_worker,
    job_deadline,
    worker_options,
)


def test_arqs_job_log_line_shows_the_number_of_ops_never_their_content() -> None:
    ops = [{"op": "put", "namespace": ["users", "u1"], "key": "k", "value": {"pw": "s3cr3t"}}] * 3
    assert arq.worker.args_to_string is describe_arguments  # type: ignore[attr-defined]
    assert describe_arguments((ops,), {}) == "3 ops"
    assert "s3cr3t" not in describe_arguments((ops,), {})


async def test_a_crashed_workers_jobs_come_back_within_a_minute() -> None:
    settings = Settings(queue_name="chatmem:unit")
    pool = arq_pool("redis://127.0.0.1:1/0", settings.queue_name)  # never connected here
    worker = build_worker(worker_options(settings, "redis://x", "postgresql://x/db", pool))
    # arq re-runs a job once its in-progress key, set for this long, expires.
    assert worker.in_progress_timeout_s <= 60
    assert worker.max_jobs == settings.worker_max_jobs
    assert worker.job_serializer is serialize_job
    assert isinstance(worker, StoreWorker)
    await pool.aclose()


async def test_the_job_timeout_tries_and_deadline_come_from_the_settings() -> None:
    settings = Settings(queue_name="chatmem:unit", worker_job_timeout=2, worker_max_tries=7)
    pool = arq_pool("redis://127.0.0.1:1/0", settings.queue_name)  # never connected here
    worker = build_worker(worker_options(settings, "redis://x", "postgresql://x/db", pool))
    function = worker.functions[FUNCTION_NAME]
    assert (function.timeout_s, function.max_tries) == (2, 7)
    assert worker.in_progress_timeout_s == 12  # a crashed worker's jobs are back after 12 s
    # A job asks for a retry before arq's timeout would drop it.
    assert job_deadline(2) < 2
    assert job_deadline(30) == 25
    await pool.aclose()


def test_a_sigterm_leaves_the_worker_less_than_10_s() -> None:
    assert JOB_COMPLETION_WAIT_S + COMMITTER_GRACE_S + POOL_CLOSE_S < 10
