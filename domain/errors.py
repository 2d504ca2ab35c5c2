"""Errors chatmem raises: one root, a few kinds that tell the caller what to do."""

from __future__ import annotations

import asyncio

from langgraph.store.base import InvalidNamespaceError as _LangGraphInvalidNamespaceError


class ChatMemError(Exception):
    """Root of every error chatmem raises on purpose."""


class ConfigurationError(ChatMemError):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class ServiceUnavailableError(ChatMemError):
    """Redis or PostgreSQL could not be reached; transient, worth retrying."""

    def __init__(self, service: str, target: str, reason: str) -> None:
        self.service = service
        self.target = target
        self.reason = reason
        super().__init__(f"{service} at {target} is unavailable: {reason}")


class InvalidWriteError(ChatMemError, ValueError):
    """A store write was refused before anything was queued or stored."""


class InvalidNamespaceError(InvalidWriteError, _LangGraphInvalidNamespaceError):
    """A namespace is empty, malformed, or uses the reserved root label.

    It is also langgraph's own InvalidNamespaceError, so code written against
    langgraph's stores catches it unchanged.
    """


class InvalidValueError(InvalidWriteError):
    """A value is not a JSON object, cannot be encoded, or is too large."""


class InvalidQueryError(ChatMemError, ValueError):
    """A read was refused before any SQL ran: a malformed filter, pagination or condition."""


class InvalidRequestError(ChatMemError, ValueError):
    """A chat request (query, thread id, user id) is malformed; nothing ran."""


class EventLoopThreadError(ChatMemError, asyncio.InvalidStateError):
    """A blocking method was called on a thread that runs an event loop.

    It would stall the loop, and deadlock a saver bound to that loop; the
    async twin of the method is the one to call there. It is also asyncio's
    InvalidStateError, which langgraph's own async savers raise in that case.
    """


class MalformedJobError(ChatMemError):
    """A queued job does not follow the job contract; it must not be executed.

    ``index`` is the position of the offending op in the job, None when the
    job as a whole is wrong (not a list, empty).
    """

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        where = "the job" if index is None else f"op {index}"
        super().__init__(f"malformed store job: {where}: {reason}")
