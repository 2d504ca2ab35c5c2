from __future__ import annotations

import arq.worker

from infra.settings import Settings
from infra.stores.jobs import serialize_job
from worker.arq_worker import StoreWorker, describe_arguments
from worker.settings import arq_pool, build_worker, worker_options


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
