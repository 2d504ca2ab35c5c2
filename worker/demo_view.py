"""How the demo prints: the setup, the conversation, and what is stored where."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.models import user_id_of_label
from infra.redaction import redact_url
from worker.demo_report import StoredRow, ThreadMemory
from worker.loadtest.workers import CommitCounts
from worker.queue_state import QueueState
from worker.stack import Stack

ASSISTANTS = {"shopping": "shopping assistant", "bi": "BI assistant"}


def setup(console: Console, stack: Stack, checkpoint_ttl: float | None) -> None:
    """Where the demo runs, and under which names."""
    e, names = stack.endpoints, stack.names
    table = Table.grid(padding=(0, 2))
    table.add_row("Redis", f"{redact_url(e.redis_url)} ({e.redis_source})")
    table.add_row("PostgreSQL", f"{redact_url(e.database_url)} ({e.postgres_source})")
    table.add_row("schema", str(names.schema or "(the URL's)"))
    table.add_row(
        "checkpoints", f"keys {names.key_prefix}:{{<thread>}}:*, TTL {_ttl(checkpoint_ttl)}"
    )
    table.add_row("queue", names.queue_name)
    worker = stack.worker.process.pid if stack.worker is not None else None
    table.add_row("worker", f"pid {worker}" if worker else "(none)")
    console.rule("[bold]chatmem demo")
    console.print(table)


def _ttl(minutes: float | None) -> str:
    return "none" if minutes is None else f"{minutes:g} min"


def thread_header(console: Console, user: str, thread: str, assistant: str, new: bool) -> None:
    """A line announcing whose thread the next turns are in."""
    mark = " [green](new thread)[/]" if new else ""
    console.print(
        f"\n[bold]{escape(user)}[/] · thread [cyan]{escape(thread)}[/] · {ASSISTANTS[assistant]}"
        f"{mark}"
    )


def turn(console: Console, user: str, query: str, response: str) -> None:
    """One exchange."""
    console.print(f"  [bold]{escape(user)}:[/] {escape(query)}")
    for n, line in enumerate(response.splitlines()):
        console.print(f"  {'[magenta]bot:[/]' if n == 0 else '    '} {escape(line)}")


def cleared(console: Console, user: str, thread: str) -> None:
    """A conversation cleared."""
    console.print(
        f"\n[bold]{escape(user)}[/] clears thread [cyan]{escape(thread)}[/]: "
        "clear_conversation() deletes its checkpoints; the facts stay in long-term memory"
    )


def short_term(console: Console, threads: Sequence[ThreadMemory]) -> None:
    """The threads' checkpoints in Redis."""
    console.rule("[bold]Short-term memory: checkpoints in Redis")
    table = Table("thread", "user", "assistant", "keys", "messages", "TTL left")
    for t in threads:
        ttl = (
            "-"
            if t.ttl_seconds is None
            else "{} min {:02d} s".format(*divmod(int(t.ttl_seconds), 60))
        )
        name = t.thread if t.keys else f"{t.thread} (cleared)"
        table.add_row(name, t.user, ASSISTANTS[t.assistant], str(t.keys), str(t.messages), ttl)
    console.print(table)


def _owner_and_kind(row: StoredRow) -> tuple[str, str]:
    labels = row.namespace.split(".")
    if len(labels) == 3 and labels[0] == "users":
        return user_id_of_label(labels[1]), labels[2]
    return "", row.namespace


def _fit_last_column(table: Table, width: int) -> Table:
    # Rich shrinks every column of a too-wide table; the short ones should stay whole.
    *fixed, last = table.columns
    used = sum(max(len(str(c.header)), *(len(str(v)) for v in c.cells)) for c in fixed)
    last.max_width = max(20, width - used - 3 * len(table.columns) - 1)
    last.no_wrap = True
    last.overflow = "ellipsis"
    return table


def long_term(console: Console, rows: Sequence[StoredRow], tombstones: int) -> None:
    """The rows the worker persisted to PostgreSQL: facts, then turn records."""
    console.rule("[bold]Long-term memory: rows in PostgreSQL")
    facts = Table("user", "fact (key)", "value", "learnt in thread")
    turns = Table("user", "thread", "turn", "query → response")
    others = Table("namespace", "key", "value")
    for row in rows:
        user, kind = _owner_and_kind(row)
        value = row.value
        if kind == "facts":
            facts.add_row(user, row.key, str(value.get("value")), str(value.get("thread_id")))
        elif kind == "conversations":
            answer = " / ".join(str(value.get("response", "")).splitlines())
            turn = f"…{str(value.get('checkpoint_id', ''))[-6:]}"
            turns.add_row(
                user, str(value.get("thread_id")), turn, f"{value.get('query')} → {answer}"
            )
        else:
            others.add_row(row.namespace, row.key, str(value))
    console.print('Facts in ("users", <user>, "facts"), one row per fact')
    console.print(facts)
    console.print(
        'Turn records: namespace ("users", <user>, "conversations"), key <thread>:<checkpoint>'
    )
    console.print(_fit_last_column(turns, console.width))
    if others.row_count:
        console.print(others)
    console.print(
        f"{len(rows)} rows: {turns.row_count} turn records, {facts.row_count} facts; "
        f"{tombstones} tombstone(s) keep deleted facts deleted"
    )


def queue(console: Console, before: QueueState, after: QueueState, commits: CommitCounts) -> None:
    """The queue right after the conversation and once the worker is done."""
    console.rule("[bold]Write queue")
    console.print(
        f"right after the conversation: {before.jobs} job(s) queued, "
        f"{before.pending_writes} write(s) pending\n"
        f"after the worker:             {after.jobs} job(s) queued, "
        f"{after.pending_writes} write(s) pending\n"
        f"the worker persisted {commits.writes} write(s) in {commits.statements} group commit(s)"
    )


def finished(console: Console, stack: Stack, *, keep: bool, seconds: float) -> None:
    """What the demo leaves behind, and how long it took."""
    e, names = stack.endpoints, stack.names
    worker = stack.worker
    status = worker.process.returncode if worker is not None else None
    console.rule("[bold]Done")
    lines = [f"worker stopped with SIGTERM (exit status {status})"]
    if e.redis_source == "embedded" or e.postgres_source == "embedded":
        lines.append("embedded servers stopped; their data went with them")
    if keep:
        lines.append(
            f"kept for you to look at: schema {names.schema}, Redis keys {names.scope}* "
            f"(checkpoints expire by their TTL)"
        )
    else:
        if e.postgres_source != "embedded":
            lines.append(f"dropped schema {names.schema}")
        if e.redis_source != "embedded":
            lines.append(f"removed Redis keys {names.scope}*")
    lines.append(f"finished in {seconds:.1f} s")
    console.print("\n".join(lines))
