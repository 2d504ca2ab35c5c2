"""`chatmem demo`: a scripted conversation on the real stack, then what is stored where."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from rich.console import Console

from domain.chatbots import ClientChatbotRepository, CustomerChatbotRepository
from domain.repositories.chatbots import BaseChatbotRepository
from infra.chat_models import load_chat_model
from infra.settings import Settings
from worker import demo_view as view
from worker.demo_report import stored_rows, thread_memory
from worker.demo_script import SCRIPT, Clear, Step, threads
from worker.loadtest.workers import commit_counts
from worker.queue_state import drained, queue_state
from worker.stack import Names, Services, Stack, open_stack, quiet_routine_logs

HELP = "Run a scripted conversation on the real stack and show what is stored where."


def configure(parser: argparse.ArgumentParser) -> None:
    """--embedded and --keep."""
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="start throw-away servers even when Redis and PostgreSQL answer locally",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the demo's schema and Redis keys on real servers, to look at them",
    )


async def converse(
    console: Console, stack: Stack, settings: Settings, script: tuple[Step, ...]
) -> None:
    """Play the script through the two assistants, printing each turn."""
    model = load_chat_model(settings.chat_model)
    bots: dict[str, BaseChatbotRepository] = {
        "shopping": CustomerChatbotRepository(stack.checkpoints, stack.stores, chat_model=model),
        "bi": ClientChatbotRepository(stack.checkpoints, stack.stores, chat_model=model),
    }
    threads_of: dict[str, set[str]] = {}
    current: tuple[str, str] | None = None
    for step in script:
        if isinstance(step, Clear):
            await bots["shopping"].aclear_conversation(step.thread)
            view.cleared(console, step.user, step.thread)
            current = None
            continue
        if current != (step.user, step.thread):
            known = threads_of.setdefault(step.user, set())
            new = bool(known) and step.thread not in known
            view.thread_header(console, step.user, step.thread, step.assistant, new=new)
            known.add(step.thread)
            current = (step.user, step.thread)
        reply = await bots[step.assistant].ainvoke(step.text, step.thread, step.user)
        view.turn(console, step.user, step.text, reply["response"])


async def run_demo(settings: Settings, services: Services, args: argparse.Namespace) -> int:
    """The whole demo on one event loop; 0 when every step worked."""
    console = Console()
    started = time.monotonic()
    names = Names.for_demo()
    with tempfile.TemporaryDirectory(prefix="chatmem-demo-") as tmp:
        async with open_stack(
            settings, services, names, embedded=args.embedded, keep=args.keep, log_dir=Path(tmp)
        ) as stack:
            view.setup(console, stack, settings.checkpoint_ttl_minutes)
            console.rule("[bold]Conversation")
            await converse(console, stack, settings, SCRIPT)
            queue = stack.names.queue_name
            before = await queue_state(stack.redis, queue)
            after = await drained(stack.redis, queue, stack.worker, within_seconds=20)
            view.short_term(console, await thread_memory(stack, threads()))
            rows, tombstones = await stored_rows(stack)
            view.long_term(console, rows, tombstones)
        commits = commit_counts([stack.worker.log_path] if stack.worker else [])
        view.queue(console, before, after, commits)
    view.finished(console, stack, keep=args.keep, seconds=time.monotonic() - started)
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the demo; the worker and any embedded servers stop before it returns."""
    quiet_routine_logs(settings)
    services = Services(settings)
    services.stop_on_sigterm()
    try:
        return asyncio.run(run_demo(settings, services, args))
    finally:
        services.close()
