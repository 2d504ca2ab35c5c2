"""`chatmem chat`: talk to the shopping or the BI assistant over the real stack.

A blocking REPL on purpose: it opens the stack on a LoopThread and calls the
chatbot's blocking methods from the main thread, the way a sync chat service
(Flask, Django) would.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from domain.chatbots import ClientChatbotRepository, CustomerChatbotRepository
from domain.errors import ChatMemError
from domain.models import user_namespace
from domain.repositories.chatbots import BaseChatbotRepository
from infra.chat_models import load_chat_model
from infra.loop_thread import LoopThread
from infra.redaction import redact_url
from infra.settings import Settings
from worker.stack import Names, Services, Stack, open_stack, quiet_routine_logs

HELP = "Chat interactively with a demo chatbot over the real stack."

COMMANDS = """commands:
  /history           this thread's messages (short-term memory, Redis)
  /memory            what is remembered about the user (long-term memory)
  /clear             clear this thread (its checkpoints go; long-term memory stays)
  /thread NAME       switch to another thread (a new one starts empty)
  /user NAME         switch user
  /assistant NAME    shopping or bi
  /quit              leave (end of input too)"""


def configure(parser: argparse.ArgumentParser) -> None:
    """--user, --thread, --assistant, --embedded, --no-worker."""
    parser.add_argument("--user", default="guest", help="the user id (default: guest)")
    parser.add_argument("--thread", default="main", help="the thread id (default: main)")
    parser.add_argument(
        "--assistant", choices=("shopping", "bi"), default="shopping", help="who answers"
    )
    parser.add_argument(
        "--embedded", action="store_true", help="throw-away servers even if local ones answer"
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="start no worker: the deployment's workers persist QUEUE_NAME",
    )


@dataclass
class Session:
    """Who talks, in which thread, to which assistant."""

    user: str
    thread: str
    assistant: str


def _memory(console: Console, stack: Stack, user: str) -> None:
    items = stack.stores.search(user_namespace(user), limit=100)
    facts = [i for i in items if i.namespace[-1] == "facts"]
    turns = [i for i in items if i.namespace[-1] == "conversations"]
    for item in facts:
        console.print(f"  {item.key}: {escape(str(item.value.get('value')))}")
    threads = sorted({str(i.value.get("thread_id")) for i in turns})
    console.print(f"  {len(turns)} recorded turns in threads: {', '.join(threads) or '-'}")


def _command(
    console: Console, stack: Stack, session: Session, bot: BaseChatbotRepository, line: str
) -> bool:
    """Run one /command; False to leave."""
    name, _, arg = line[1:].partition(" ")
    arg = arg.strip()
    if name in ("quit", "exit"):
        return False
    if name == "history":
        for message in bot.get_history(session.thread):
            console.print(f"  {message['role']}: {escape(message['content'])}")
    elif name == "memory":
        _memory(console, stack, session.user)
    elif name == "clear":
        bot.clear_conversation(session.thread)
        console.print(f"  thread {escape(session.thread)} cleared")
    elif name in ("thread", "user") and arg:
        setattr(session, name, arg)
        console.print(f"  now {session.user} in thread {session.thread}")
    elif name == "assistant" and arg in ("shopping", "bi"):
        session.assistant = arg
    else:
        console.print(COMMANDS)
    return True


def repl(console: Console, stack: Stack, settings: Settings, session: Session) -> None:
    """Read lines until /quit or end of input; answer each through the chosen assistant."""
    model = load_chat_model(settings.chat_model)
    bots: dict[str, BaseChatbotRepository] = {
        "shopping": CustomerChatbotRepository(stack.checkpoints, stack.stores, chat_model=model),
        "bi": ClientChatbotRepository(stack.checkpoints, stack.stores, chat_model=model),
    }
    e = stack.endpoints
    console.print(
        f"chatmem chat: Redis {redact_url(e.redis_url)} ({e.redis_source}), PostgreSQL "
        f"{redact_url(e.database_url)} ({e.postgres_source}), queue {stack.names.queue_name}"
    )
    if "embedded" in (e.redis_source, e.postgres_source):
        console.print("embedded servers: everything said here is gone when you leave")
    console.print(COMMANDS)
    while True:
        try:
            line = input(f"{session.user}@{session.thread} ({session.assistant})> ").strip()
        except EOFError:
            break
        if not line:
            continue
        bot = bots[session.assistant]
        if line.startswith("/"):
            if not _command(console, stack, session, bot, line):
                break
            continue
        try:
            reply = bot.invoke(line, session.thread, session.user)
        except ChatMemError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}")
            continue
        console.print(f"[magenta]bot:[/] {escape(reply['response'])}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Open the stack on a loop thread, chat on this one, close everything."""
    console = Console()
    quiet_routine_logs(settings)
    services = Services(settings)
    services.stop_on_sigterm()
    session = Session(args.user, args.thread, args.assistant)
    try:
        with LoopThread() as loop_thread, tempfile.TemporaryDirectory(prefix="chatmem-") as tmp:
            opened = open_stack(
                settings,
                services,
                Names.from_settings(settings),
                embedded=args.embedded,
                with_worker=not args.no_worker,
                log_dir=Path(tmp),
            )
            stack = loop_thread.run(opened.__aenter__())
            try:
                repl(console, stack, settings, session)
            finally:
                loop_thread.run(opened.__aexit__(None, None, None))
    finally:
        services.close()
    return 0
