"""Every setting chatmem reads from the environment, parsed and checked in one place."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from domain.errors import ConfigurationError
from infra.redaction import redact_url

LogFormat = Literal["json", "console"]
_N = TypeVar("_N", int, float)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
POSTGRES_SCHEMES = ("postgresql", "postgres")

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/chatmem"
DEFAULT_QUEUE_NAME = "chatmem:queue"
DEFAULT_WORKER_MAX_JOBS = 256
DEFAULT_WORKER_POLL_DELAY = 0.05
# A crashed worker's jobs come back once arq's in-progress mark expires: the
# job timeout + 10 s, so 30 s brings them back within a minute.
DEFAULT_WORKER_JOB_TIMEOUT = 30.0
DEFAULT_WORKER_MAX_TRIES = 20
DEFAULT_WORKER_RETRY_BASE = 0.5
DEFAULT_WORKER_RETRY_MAX = 30.0
# 0: a worker whose Redis or PostgreSQL does not answer at start exits at once.
DEFAULT_WORKER_STARTUP_WAIT = 0.0
# Loopback unless told otherwise: the figures say nothing secret, but nothing
# should listen on every interface without being asked to.
DEFAULT_METRICS_HOST = "127.0.0.1"

# Every variable Settings reads; the compose file and the docs are checked against it.
ENV_VARS = (
    "REDIS_URL",
    "DATABASE_URL",
    "CHECKPOINT_TTL_MINUTES",
    "QUEUE_NAME",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "CHATMEM_CHAT_MODEL",
    "WORKER_MAX_JOBS",
    "WORKER_POLL_DELAY",
    "WORKER_JOB_TIMEOUT",
    "WORKER_MAX_TRIES",
    "WORKER_RETRY_BASE",
    "WORKER_RETRY_MAX",
    "WORKER_STARTUP_WAIT",
    "METRICS_PORT",
    "METRICS_HOST",
)


@dataclass(frozen=True, slots=True)
class Settings:
    """chatmem's configuration.

    ``redis_url``/``database_url`` are None when the variable is unset: the demo
    and the tests may then use the local default or an embedded server, the
    worker never does.
    """

    redis_url: str | None = None
    database_url: str | None = None
    checkpoint_ttl_minutes: float | None = 60.0
    queue_name: str = DEFAULT_QUEUE_NAME
    log_level: str = "INFO"
    log_format: LogFormat = "json"
    # A LangChain chat model ("provider:model") the assistants word replies with; None: rules only.
    chat_model: str | None = None
    worker_max_jobs: int = DEFAULT_WORKER_MAX_JOBS
    worker_poll_delay: float = DEFAULT_WORKER_POLL_DELAY
    worker_job_timeout: float = DEFAULT_WORKER_JOB_TIMEOUT
    worker_max_tries: int = DEFAULT_WORKER_MAX_TRIES
    worker_retry_base: float = DEFAULT_WORKER_RETRY_BASE
    worker_retry_max: float = DEFAULT_WORKER_RETRY_MAX
    worker_startup_wait: float = DEFAULT_WORKER_STARTUP_WAIT
    metrics_port: int | None = None
    metrics_host: str = DEFAULT_METRICS_HOST

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check the environment; a bad value raises ConfigurationError."""
        env = os.environ if env is None else env
        retry_base, retry_max = _retry_delays(env)
        return cls(
            redis_url=_url(env, "REDIS_URL", REDIS_SCHEMES),
            database_url=_url(env, "DATABASE_URL", POSTGRES_SCHEMES),
            checkpoint_ttl_minutes=_ttl(env, "CHECKPOINT_TTL_MINUTES", default=60.0),
            queue_name=_queue_name(env, "QUEUE_NAME"),
            log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
            log_format=_log_format(env, "LOG_FORMAT"),
            chat_model=_chat_model(env, "CHATMEM_CHAT_MODEL"),
            worker_max_jobs=_bounded(
                env,
                "WORKER_MAX_JOBS",
                DEFAULT_WORKER_MAX_JOBS,
                parse=int,
                low=1,
                high=10_000,
                what="a whole number of jobs",
            ),
            worker_poll_delay=_bounded(
                env,
                "WORKER_POLL_DELAY",
                DEFAULT_WORKER_POLL_DELAY,
                parse=float,
                low=0.001,
                high=10.0,
                what="a number of seconds",
            ),
            worker_job_timeout=_bounded(
                env,
                "WORKER_JOB_TIMEOUT",
                DEFAULT_WORKER_JOB_TIMEOUT,
                parse=float,
                low=1.0,
                high=3600.0,
                what="a number of seconds",
            ),
            worker_max_tries=_bounded(
                env,
                "WORKER_MAX_TRIES",
                DEFAULT_WORKER_MAX_TRIES,
                parse=int,
                low=1,
                high=1000,
                what="a whole number of tries",
            ),
            worker_retry_base=retry_base,
            worker_retry_max=retry_max,
            worker_startup_wait=_bounded(
                env,
                "WORKER_STARTUP_WAIT",
                DEFAULT_WORKER_STARTUP_WAIT,
                parse=float,
                low=0.0,
                high=86_400.0,
                what="a number of seconds",
            ),
            metrics_port=_metrics_port(env, "METRICS_PORT"),
            metrics_host=_host(env, "METRICS_HOST", DEFAULT_METRICS_HOST),
        )

    @property
    def redis_target(self) -> str:
        """The Redis URL to use, the local default when REDIS_URL is unset."""
        return self.redis_url or DEFAULT_REDIS_URL

    @property
    def database_target(self) -> str:
        """The PostgreSQL URL to use, the local default when DATABASE_URL is unset."""
        return self.database_url or DEFAULT_DATABASE_URL

    def describe(self) -> dict[str, str]:
        """The settings as text, safe to print or log (passwords hidden)."""
        ttl = self.checkpoint_ttl_minutes
        return {
            "REDIS_URL": redact_url(self.redis_url) if self.redis_url else "(unset)",
            "DATABASE_URL": redact_url(self.database_url) if self.database_url else "(unset)",
            "CHECKPOINT_TTL_MINUTES": "never" if ttl is None else f"{ttl:g}",
            "QUEUE_NAME": self.queue_name,
            "LOG_LEVEL": self.log_level,
            "LOG_FORMAT": self.log_format,
            "CHATMEM_CHAT_MODEL": self.chat_model or "(unset: answers from rules, no model)",
            "WORKER_MAX_JOBS": str(self.worker_max_jobs),
            "WORKER_POLL_DELAY": f"{self.worker_poll_delay:g}",
            "WORKER_JOB_TIMEOUT": f"{self.worker_job_timeout:g}",
            "WORKER_MAX_TRIES": str(self.worker_max_tries),
            "WORKER_RETRY_BASE": f"{self.worker_retry_base:g}",
            "WORKER_RETRY_MAX": f"{self.worker_retry_max:g}",
            "WORKER_STARTUP_WAIT": f"{self.worker_startup_wait:g}",
            "METRICS_PORT": "off" if self.metrics_port is None else str(self.metrics_port),
            "METRICS_HOST": self.metrics_host,
        }


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = _raw(env, name)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        _ = parts.port  # a non-numeric port raises here
    except ValueError as exc:
        raise ConfigurationError(name, f"not a valid URL ({redact_url(value)}): {exc}") from None
    if parts.scheme not in schemes:
        wanted = ", ".join(f"{s}://" for s in schemes)
        raise ConfigurationError(
            name, f"expected a URL starting with {wanted}; got {redact_url(value)!r}"
        )
    if parts.scheme != "unix" and not parts.hostname and "host=" not in parts.query:
        raise ConfigurationError(name, f"the URL names no host: {redact_url(value)!r}")
    return value


def _ttl(env: Mapping[str, str], name: str, default: float) -> float | None:
    value = _raw(env, name)
    if value is None:
        return default
    if value.lower() in ("none", "never"):
        return None
    try:
        minutes = float(value)
    except ValueError:
        raise ConfigurationError(
            name, f"expected a number of minutes (or 'never'); got {value!r}"
        ) from None
    if not 0 < minutes < float("inf"):
        raise ConfigurationError(
            name, f"expected a positive number of minutes (or 'never'); got {value!r}"
        )
    return minutes


def _queue_name(env: Mapping[str, str], name: str) -> str:
    value = _raw(env, name)
    if value is None:
        return DEFAULT_QUEUE_NAME
    if any(c.isspace() for c in value) or len(value) > 200:
        raise ConfigurationError(name, f"expected a short name without spaces; got {value!r}")
    return value


def _metrics_port(env: Mapping[str, str], name: str) -> int | None:
    if _raw(env, name) is None:
        return None
    return _bounded(
        env, name, 0, parse=int, low=0, high=65_535, what="a TCP port number (0: any free port)"
    )


def _host(env: Mapping[str, str], name: str, default: str) -> str:
    value = _raw(env, name)
    if value is None:
        return default
    if any(c.isspace() or c in "/@?#" for c in value) or len(value) > 253:
        raise ConfigurationError(name, f"expected a host name or IP address; got {value!r}")
    return value


def _bounded(
    env: Mapping[str, str],
    name: str,
    default: _N,
    *,
    parse: Callable[[str], _N],
    low: _N,
    high: _N,
    what: str,
) -> _N:
    value = _raw(env, name)
    if value is None:
        return default
    try:
        number = parse(value)
    except ValueError:
        raise ConfigurationError(name, f"expected {what}; got {value!r}") from None
    # NaN fails both comparisons, so it is refused here too.
    if not low <= number <= high:
        raise ConfigurationError(name, f"expected {what} from {low:g} to {high:g}; got {value!r}")
    return number


def _retry_delays(env: Mapping[str, str]) -> tuple[float, float]:
    seconds = "a number of seconds"
    base = _bounded(
        env, "WORKER_RETRY_BASE", DEFAULT_WORKER_RETRY_BASE, parse=float, low=0.01, high=600.0,
        what=seconds,
    )  # fmt: skip
    cap = _bounded(
        env, "WORKER_RETRY_MAX", DEFAULT_WORKER_RETRY_MAX, parse=float, low=0.01, high=3600.0,
        what=seconds,
    )  # fmt: skip
    if cap < base:
        raise ConfigurationError(
            "WORKER_RETRY_MAX", f"expected at least WORKER_RETRY_BASE ({base:g}); got {cap:g}"
        )
    return base, cap


def _choice(
    env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str, *, upper: bool
) -> str:
    value = _raw(env, name)
    if value is None:
        return default
    value = value.upper() if upper else value.lower()
    if value not in allowed:
        raise ConfigurationError(name, f"expected one of {', '.join(allowed)}; got {value!r}")
    return value


def _log_format(env: Mapping[str, str], name: str) -> LogFormat:
    value = _raw(env, name)
    if value is None:
        return "console" if sys.stderr.isatty() else "json"
    value = value.lower()
    if value == "json":
        return "json"
    if value == "console":
        return "console"
    raise ConfigurationError(name, f"expected json or console; got {value!r}")


def _chat_model(env: Mapping[str, str], name: str) -> str | None:
    value = _raw(env, name)
    if value is not None and any(c.isspace() for c in value):
        raise ConfigurationError(
            name, f"expected a model name such as openai:gpt-4o-mini; got {value!r}"
        )
    return value
