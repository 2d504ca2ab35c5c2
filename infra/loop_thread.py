"""An event loop on a thread of its own, for blocking code that uses chatmem's async clients.

The Redis checkpointer and the queued store are bound to the event loop they
were opened on, and their blocking methods hop onto it. A blocking program (a
REPL, a WSGI app) opens them here, then calls the chatbot's blocking methods
from its own threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from domain.errors import EventLoopThreadError

T = TypeVar("T")


class LoopThread:
    """Runs one event loop in a daemon thread; ``run`` hands it coroutines from other threads."""

    def __init__(self, name: str = "chatmem-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> LoopThread:
        """Start the thread (once)."""
        self._thread.start()
        return self

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the loop and wait for its result (not from the loop's thread)."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise EventLoopThreadError("LoopThread.run() called on its own loop; await instead")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop, join the thread, close the loop."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def __enter__(self) -> LoopThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
