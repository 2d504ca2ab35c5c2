from __future__ import annotations

import arq.worker

from worker.arq_worker import describe_arguments


def test_arqs_job_log_line_shows_the_number_of_ops_never_their_content() -> None:
    ops = [{"op": "put", "namespace": ["users", "u1"], "key": "k", "value": {"pw": "s3cr3t"}}] * 3
    assert arq.worker.args_to_string is describe_arguments  # type: ignore[attr-defined]
    assert describe_arguments((ops,), {}) == "3 ops"
    assert "s3cr3t" not in describe_arguments((ops,), {})
