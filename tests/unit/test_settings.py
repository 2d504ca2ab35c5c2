from __future__ import annotations

import pytest

from domain.errors import ConfigurationError
from infra.settings import DEFAULT_QUEUE_NAME, ENV_VARS, Settings


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({"LOG_FORMAT": "json"})
    assert settings.redis_url is None
    assert settings.database_url is None
    assert settings.redis_target.startswith("redis://127.0.0.1:6379")
    assert settings.database_target.startswith("postgresql://")
    assert settings.checkpoint_ttl_minutes == 60
    assert settings.queue_name == DEFAULT_QUEUE_NAME
    assert settings.log_level == "INFO"
    assert settings.chat_model is None
    assert settings.metrics_port is None  # no metrics server unless asked for
    assert settings.metrics_host == "127.0.0.1"


def test_every_variable_is_read() -> None:
    env = {
        "REDIS_URL": "rediss://user:pw@cache.example:6380/2",
        "DATABASE_URL": "postgresql://app:pw@db.example:5432/mem?sslmode=require",
        "CHECKPOINT_TTL_MINUTES": "15.5",
        "QUEUE_NAME": "tenant-a:writes",
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": "Console",
        "CHATMEM_CHAT_MODEL": "openai:gpt-4o-mini",
        "WORKER_MAX_JOBS": "512",
        "WORKER_POLL_DELAY": "0.2",
        "WORKER_JOB_TIMEOUT": "12",
        "WORKER_MAX_TRIES": "5",
        "WORKER_RETRY_BASE": "0.1",
        "WORKER_RETRY_MAX": "2",
        "WORKER_STARTUP_WAIT": "90",
        "METRICS_PORT": "9464",
        "METRICS_HOST": "0.0.0.0",
    }
    settings = Settings.from_env(env)
    assert settings.redis_url == env["REDIS_URL"]
    assert settings.database_url == env["DATABASE_URL"]
    assert settings.checkpoint_ttl_minutes == 15.5
    assert settings.queue_name == "tenant-a:writes"
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "console"
    assert settings.chat_model == "openai:gpt-4o-mini"
    assert settings.worker_max_jobs == 512
    assert settings.worker_poll_delay == 0.2
    assert settings.worker_job_timeout == 12
    assert settings.worker_max_tries == 5
    assert (settings.worker_retry_base, settings.worker_retry_max) == (0.1, 2)
    assert settings.worker_startup_wait == 90
    assert settings.metrics_port == 9464
    assert settings.metrics_host == "0.0.0.0"
    assert set(env) == set(ENV_VARS)
    assert set(settings.describe()) == set(ENV_VARS)


def test_ttl_never_means_no_expiry() -> None:
    assert Settings.from_env({"CHECKPOINT_TTL_MINUTES": "never"}).checkpoint_ttl_minutes is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_URL", "redis://localhost:notaport/0"),
        ("DATABASE_URL", "mysql://root@localhost/test"),
        ("DATABASE_URL", "postgresql:///nohost"),
        ("CHECKPOINT_TTL_MINUTES", "soon"),
        ("CHECKPOINT_TTL_MINUTES", "-5"),
        ("CHECKPOINT_TTL_MINUTES", "0"),
        ("QUEUE_NAME", "has space"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("CHATMEM_CHAT_MODEL", "open ai"),
        ("WORKER_MAX_JOBS", "many"),
        ("WORKER_MAX_JOBS", "0"),
        ("WORKER_MAX_JOBS", "2.5"),
        ("WORKER_POLL_DELAY", "soon"),
        ("WORKER_POLL_DELAY", "0"),
        ("WORKER_POLL_DELAY", "60"),
        ("WORKER_JOB_TIMEOUT", "0.5"),
        ("WORKER_JOB_TIMEOUT", "a minute"),
        ("WORKER_MAX_TRIES", "0"),
        ("WORKER_MAX_TRIES", "3.5"),
        ("WORKER_RETRY_BASE", "0"),
        ("WORKER_RETRY_BASE", "nan"),
        ("WORKER_RETRY_MAX", "-1"),
        ("WORKER_STARTUP_WAIT", "-1"),
        ("WORKER_STARTUP_WAIT", "forever"),
        ("METRICS_PORT", "http"),
        ("METRICS_PORT", "70000"),
        ("METRICS_HOST", "http://0.0.0.0"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_a_retry_cap_below_the_first_delay_is_refused_naming_both() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"WORKER_RETRY_BASE": "5", "WORKER_RETRY_MAX": "1"})
    assert caught.value.variable == "WORKER_RETRY_MAX"
    assert "WORKER_RETRY_BASE" in str(caught.value)


def test_the_documented_retry_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.worker_job_timeout == 30
    assert settings.worker_max_tries == 20
    assert (settings.worker_retry_base, settings.worker_retry_max) == (0.5, 30)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "http://user:hunter2@localhost:6379"),
        ("DATABASE_URL", "mysql://root:hunter2@localhost/test"),
        ("REDIS_URL", "redis://user:hunter2@localhost:bad/0"),
    ],
)
def test_errors_never_show_the_password(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({variable: value})
    assert "hunter2" not in str(caught.value)


def test_describe_hides_passwords() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://:hunter2@localhost:6379/0",
            "DATABASE_URL": "postgresql://app:hunter2@localhost/mem",
        }
    )
    described = settings.describe()
    assert "hunter2" not in repr(described)
    assert described["REDIS_URL"] == "redis://:***@localhost:6379/0"
