from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
import structlog

from infra.logs import configure_logging, get_logger


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    configure_logging("INFO", "json")
    yield capsys
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    for handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(handler)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    err = capsys.readouterr().err
    return [orjson.loads(line) for line in err.splitlines() if line.strip()]


def test_json_lines_carry_context_and_utc_timestamps(json_logs: pytest.CaptureFixture[str]) -> None:
    structlog.contextvars.bind_contextvars(thread_id="t-1", job_id="j-9")
    get_logger("chatmem.test").info("store_writes_persisted", count=3)
    (line,) = _lines(json_logs)
    assert line["event"] == "store_writes_persisted"
    assert line["thread_id"] == "t-1"
    assert line["job_id"] == "j-9"
    assert line["count"] == 3
    assert str(line["timestamp"]).endswith("Z")


def test_stdlib_loggers_of_arq_and_asyncpg_share_the_pipeline(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    structlog.contextvars.bind_contextvars(job_id="j-1")
    logging.getLogger("arq.worker").warning("job %s retried", "abc")
    logging.getLogger("asyncpg.pool").error("connection lost")
    first, second = _lines(json_logs)
    assert first == first | {"event": "job abc retried", "logger": "arq.worker", "job_id": "j-1"}
    assert second["logger"] == "asyncpg.pool"
    assert second["level"] == "error"


def test_tracebacks_have_no_local_variables(json_logs: pytest.CaptureFixture[str]) -> None:
    dsn = "postgresql://app:hunter2@db/mem"
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger().exception("persist_failed")
    out = json_logs.readouterr().err
    assert "boom" in out
    assert "hunter2" not in out
    assert dsn not in out
    assert '"locals"' not in out


def test_passwords_in_log_values_are_hidden(json_logs: pytest.CaptureFixture[str]) -> None:
    get_logger().info("connecting", url="redis://:hunter2@cache:6379/0")
    (line,) = _lines(json_logs)
    assert line["url"] == "redis://:***@cache:6379/0"
