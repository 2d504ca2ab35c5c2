"""What a shopper's message says: facts to remember or forget, what they want, any limit.

Deterministic keyword rules, no model. A budget stated as such ("my budget is
900") is a fact about the customer, kept across conversations; "under 300"
limits only the request it is part of.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

FACT_KEYS = ("name", "budget", "preferred_brand")
FACT_WORDS = {"name": "name", "budget": "budget", "preferred_brand": "preferred brand"}

_AMOUNT = r"(?:about\s+|around\s+|roughly\s+)?(?:€|\$|£|eur\s*)?\s*(\d[\d,]*(?:\.\d+)?)\s*(k\b)?"
_BUDGET = re.compile(r"\b(?:budget(?:\s+is|\s+of)?\s*:?|can\s+spend(?:\s+up\s+to)?)\s*" + _AMOUNT)
_LIMIT = re.compile(
    r"\b(?:under|below|up\s+to|at\s+most|less\s+than|no\s+more\s+than)\s*" + _AMOUNT
)
_PREFER = (
    re.compile(
        r"\b(?:prefer|like|love|favou?rite(?:\s+brand)?(?:\s+is)?|fan\s+of|go\s+with|"
        r"stick\s+(?:to|with)|big\s+on|into)\s+(?:the\s+)?(?:brand\s+)?(\w+)"
    ),
    re.compile(r"\b(\w+)\s+is\s+my\s+favou?rite\b"),
)
_NEGATION = re.compile(r"\b(?:don'?t|do\s+not|doesn'?t|never|not\s+a|hate|dislike|avoid)\b")
_NAME = re.compile(r"\b(?:my\s+name\s+is|call\s+me|i'?m\s+called)\s+([a-z][a-z'-]*)")
_FORGET = re.compile(r"\bforget\b(.*)")
_FORGET_ALL = re.compile(r"\b(everything|all|me|about\s+me|what\s+you\s+know)\b")
_KNOW = re.compile(
    r"\bwhat\s+do\s+you\s+(?:know|remember)\b|\bdo\s+you\s+remember\b|\bwhat(?:'s|\s+is)\s+my\b"
)
_HELLO = re.compile(r"^\s*(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))\b")
_CHEAPER = re.compile(r"\bcheaper\b|\bless\s+expensive\b|\blower\s+price\b")
_SYNONYMS = {
    "laptop": ("laptop", "laptops", "notebook", "notebooks"),
    "phone": ("phone", "phones", "smartphone", "smartphones", "mobile"),
    "headphones": ("headphones", "headphone", "earbuds", "buds", "headset"),
    "monitor": ("monitor", "monitors", "screen", "screens", "display"),
    "tablet": ("tablet", "tablets"),
}


def _amount(match: re.Match[str]) -> int:
    number = float(match.group(1).replace(",", ""))
    return round(number * 1000 if match.group(2) else number)


def facts_said(text: str, brands: Sequence[str]) -> dict[str, Any]:
    """The facts about the customer a message states: name, budget, preferred brand."""
    lowered = text.lower()
    facts: dict[str, Any] = {}
    if match := _NAME.search(lowered):
        facts["name"] = match.group(1).capitalize()
    if match := _BUDGET.search(lowered):
        facts["budget"] = _amount(match)
    known = {brand.lower(): brand for brand in brands}
    for pattern in _PREFER:
        for match in pattern.finditer(lowered):
            brand = known.get(match.group(1))
            negated = _NEGATION.search(lowered[max(0, match.start() - 12) : match.start()])
            if brand is not None and not negated:
                facts["preferred_brand"] = brand
    return facts


def facts_to_forget(text: str) -> tuple[str, ...]:
    """The fact keys a message asks to forget ("forget my budget", "forget everything")."""
    match = _FORGET.search(text.lower())
    if match is None:
        return ()
    rest = match.group(1)
    named = tuple(
        key
        for key, word in (("name", "name"), ("budget", "budget"), ("preferred_brand", "brand"))
        if word in rest
    )
    if named:
        return named
    return FACT_KEYS if _FORGET_ALL.search(rest) else ()


def request_limit(text: str) -> int | None:
    """A price limit for this request only ("under 300"), if any."""
    match = _LIMIT.search(text.lower())
    return _amount(match) if match else None


def category_asked(text: str, categories: Sequence[str]) -> str | None:
    """The product category a message mentions, if any."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    for category in categories:
        if words & set(_SYNONYMS.get(category, (category,))):
            return category
    return None


def asks_what_is_known(text: str) -> bool:
    """Whether the customer asks what the assistant remembers about them."""
    return _KNOW.search(text.lower()) is not None


def is_greeting(text: str) -> bool:
    """Whether the message opens with a greeting."""
    return _HELLO.search(text.lower()) is not None


def wants_cheaper(text: str) -> bool:
    """Whether the customer asks for something cheaper than the last suggestion."""
    return _CHEAPER.search(text.lower()) is not None


def describe_facts(facts: dict[str, Any]) -> str:
    """The remembered facts in words, e.g. "your budget is €900 and you prefer Acme"."""
    parts = []
    if "name" in facts:
        parts.append(f"your name is {facts['name']}")
    if "budget" in facts:
        parts.append(f"your budget is €{facts['budget']:,}")
    if "preferred_brand" in facts:
        parts.append(f"you prefer {facts['preferred_brand']}")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
