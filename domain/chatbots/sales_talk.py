"""From a question in words to a SalesQuestion, and from figures back to words.

Deterministic keyword rules, no model: enough for questions such as "revenue
by region in Q1", "top product in March", and follow-ups like "and in the
South?" that reuse the previous question of the thread.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from typing import Any

from domain.chatbots.sales import Dimension, Metric, Rank, SalesFigures, SalesQuestion, SalesTable

_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same for|now|only|just|but)\b")
_METRICS: tuple[tuple[str, Metric], ...] = (
    (r"\baverage\b|\baov\b|\bper order\b", "average_order"),
    (r"\bunits?\b|\bsold\b|\bvolume\b|\bquantity\b", "units"),
    (r"\borders?\b", "orders"),
    (r"\brevenue\b|\bsales\b|\bturnover\b|\bearn|\bmade\b|\bincome\b", "revenue"),
)
_GROUPS: tuple[tuple[str, Dimension], ...] = (
    (r"\b(by|per|each|every|across) regions?\b|\bregional\b", "region"),
    (r"\b(by|per|each|every|across) products?\b", "product"),
    (r"\b(by|per|each|every|across) categor(y|ies)\b", "category"),
    (r"\b(by|per|each|every) month\b|\bmonthly\b|\btrend\b|\bover time\b", "month"),
)
_RANKED_THINGS: tuple[tuple[str, Dimension], ...] = (
    (r"\bregions?\b", "region"),
    (r"\bcategor(y|ies)\b", "category"),
    (r"\bmonths?\b", "month"),
    (r"\bproducts?\b|\bitems?\b", "product"),
)
_RANKS: tuple[tuple[str, Rank], ...] = (
    (r"\b(top|best|highest|most|biggest|leading|strongest)\b", "top"),
    (r"\b(worst|lowest|least|weakest|smallest)\b", "bottom"),
)
_QUARTERS = {f"q{q}": (3 * q - 2, 3 * q - 1, 3 * q) for q in range(1, 5)}
_ALL_MONTHS = re.compile(r"\b(overall|all months|all time|whole (period|year)|in total)\b")
_ALL_REGIONS = re.compile(r"\b(all|every) regions\b|\beverywhere\b")


def _first(text: str, rules: Sequence[tuple[str, Any]]) -> Any:
    return next((value for pattern, value in rules if re.search(pattern, text)), None)


def _word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word.lower())}\b", text) is not None


def _months(text: str, table: SalesTable) -> tuple[str, ...] | None:
    numbers = {int(m[5:]) for m in table.months}
    wanted: set[int] = set()
    for number in range(1, 13):
        if _word(text, calendar.month_name[number]):
            wanted.add(number)
    for quarter, months in _QUARTERS.items():
        if _word(text, quarter):
            wanted.update(months)
    explicit = set(re.findall(r"\b\d{4}-\d{2}\b", text))
    if not wanted and not explicit:
        return None
    return tuple(m for m in table.months if m in explicit or int(m[5:]) in wanted & numbers)


def _filters(text: str, table: SalesTable) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if _ALL_REGIONS.search(text):
        found["region"] = None
    for region in table.regions:
        if _word(text, region):
            found["region"] = region
    for product in table.products:
        if _word(text, product) or _word(text, product.split()[0]):
            found["product"] = product
    if "product" not in found:
        for category in table.categories:
            if _word(text, category) or _word(text, category.rstrip("s")):
                found["category"] = category
    if _ALL_MONTHS.search(text):
        found["months"] = ()
    months = _months(text, table)
    if months is not None:
        found["months"] = months
    return found


def parse_question(
    text: str, table: SalesTable, previous: SalesQuestion | None = None
) -> SalesQuestion | None:
    """The question asked, building on the previous one for a follow-up; None if none."""
    lowered = text.lower()
    metric: Metric | None = _first(lowered, _METRICS)
    group: Dimension | None = _first(lowered, _GROUPS)
    rank: Rank | None = _first(lowered, _RANKS)
    filters = _filters(lowered, table)
    if metric is None and group is None and rank is None and not filters:
        return None
    follow_up = previous is not None and (
        _FOLLOW_UP.search(lowered) is not None or (metric is None and group is None)
    )
    base = previous if follow_up and previous is not None else SalesQuestion()
    changes: dict[str, Any] = dict(filters)
    if metric is not None:
        changes["metric"] = metric
    if group is not None:
        changes.update(group_by=group, rank=rank)
    elif rank is not None:
        ranked = _first(lowered, _RANKED_THINGS) or base.group_by or "product"
        changes.update(group_by=ranked, rank=rank)
    return base.but(**changes)


def _amount(metric: Metric, value: float) -> str:
    if metric == "revenue":
        return f"€{value:,.0f}"
    if metric == "average_order":
        return f"€{value:,.2f}"
    return f"{value:,.0f} {metric}"


def period(months: Sequence[str]) -> str:
    """A readable period: "March 2024", "Q1 2024", "January-March 2024" or a list."""
    if not months:
        return "all months"
    names = [f"{calendar.month_name[int(m[5:])]} {m[:4]}" for m in months]
    numbers = [int(m[5:]) for m in months]
    same_year = len({m[:4] for m in months}) == 1
    contiguous = numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    if len(months) == 1:
        return names[0]
    if same_year and contiguous and len(months) == 3 and numbers[0] % 3 == 1:
        return f"Q{numbers[0] // 3 + 1} {months[0][:4]}"
    if same_year and contiguous:
        return f"{calendar.month_name[numbers[0]]}-{names[-1]}"
    return ", ".join(names)


def scope(question: SalesQuestion) -> str:
    """The slice a question covers, in words."""
    parts = [question.region or "all regions"]
    if question.product or question.category:
        parts.append(question.product or str(question.category))
    parts.append(period(question.months))
    return ", ".join(parts)


def _group_name(question: SalesQuestion, name: str) -> str:
    return period([name]) if question.group_by == "month" else name


def _label(metric: Metric) -> str:
    return {"average_order": "average order value"}.get(metric, metric)


def describe(figures: SalesFigures) -> str:
    """The answer in words, every figure taken from ``figures``."""
    q = figures.question
    where = scope(q)
    if figures.orders == 0:
        return f"No sales match {where}."
    if q.group_by is None:
        answer = f"{_label(q.metric).capitalize()} for {where}: {_amount(q.metric, figures.total)}"
        if q.metric != "orders":
            answer += f" ({figures.orders} orders)"
        return answer + "."
    if q.rank is not None:
        name, value = figures.groups[0] if q.rank == "top" else figures.groups[-1]
        answer = (
            f"{'Top' if q.rank == 'top' else 'Bottom'} {q.group_by} by {_label(q.metric)} "
            f"({where}): {_group_name(q, name)} with {_amount(q.metric, value)}"
        )
        if q.metric != "average_order" and figures.total:
            answer += f", {value / figures.total:.0%} of {_amount(q.metric, figures.total)}"
        return answer + "."
    lines = [f"{_label(q.metric).capitalize()} by {q.group_by} ({where}):"]
    lines += [f"- {_group_name(q, n)}: {_amount(q.metric, v)}" for n, v in figures.groups]
    if q.metric != "average_order":
        lines.append(f"Total: {_amount(q.metric, figures.total)}")
    return "\n".join(lines)


def help_text(table: SalesTable) -> str:
    """What the assistant can answer, with the table's own regions and period."""
    return (
        f"I answer questions about {len(table.sales)} orders ({period(table.months)}; regions "
        f"{', '.join(table.regions)}; products {', '.join(table.products)}): revenue, units, "
        "orders or average order value, by region, product, category or month, top or bottom, "
        "for a region, product, category, month or quarter. Try 'revenue by region in Q1', "
        "'top product in March', then 'and in the South?'."
    )


def state_question(state: dict[str, Any] | None) -> SalesQuestion | None:
    """The previous question kept in a thread's state, if any."""
    return None if not state else SalesQuestion.from_state(state)
