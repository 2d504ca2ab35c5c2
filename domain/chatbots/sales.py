"""The sales table the BI assistant answers from, and the figures it computes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from typing import Any, Literal

Metric = Literal["revenue", "units", "orders", "average_order"]
Dimension = Literal["region", "product", "category", "month"]
Rank = Literal["top", "bottom"]


@dataclass(frozen=True, slots=True)
class Sale:
    """One order line: so many units of a product sold in a region on a day."""

    order_id: str
    day: date
    region: str
    product: str
    category: str
    units: int
    unit_price: int

    @property
    def revenue(self) -> int:
        """Units times unit price, in whole euros."""
        return self.units * self.unit_price

    @property
    def month(self) -> str:
        """The month as YYYY-MM."""
        return f"{self.day:%Y-%m}"

    def dimension(self, name: Dimension) -> str:
        """The value of a grouping dimension for this sale."""
        return self.month if name == "month" else str(getattr(self, name))


class SalesTable:
    """All the sales, with the distinct regions, products, categories and months in them."""

    def __init__(self, sales: Iterable[Sale]) -> None:
        self.sales: tuple[Sale, ...] = tuple(sales)
        self.regions = sorted({s.region for s in self.sales})
        self.products = sorted({s.product for s in self.sales})
        self.categories = sorted({s.category for s in self.sales})
        self.months = sorted({s.month for s in self.sales})

    @classmethod
    def from_csv(cls, text: str) -> SalesTable:
        """A table from CSV text with the columns of the shipped sales.csv."""
        rows = csv.DictReader(io.StringIO(text))
        return cls(
            Sale(
                order_id=row["order_id"],
                day=date.fromisoformat(row["date"]),
                region=row["region"],
                product=row["product"],
                category=row["category"],
                units=int(row["units"]),
                unit_price=int(row["unit_price"]),
            )
            for row in rows
        )

    @classmethod
    def load(cls) -> SalesTable:
        """The sample table shipped with the package."""
        text = resources.files(__package__).joinpath("sales.csv").read_text(encoding="utf-8")
        return cls.from_csv(text)


@dataclass(frozen=True, slots=True)
class SalesQuestion:
    """What to compute: a metric over a filtered slice, maybe grouped and ranked."""

    metric: Metric = "revenue"
    group_by: Dimension | None = None
    rank: Rank | None = None
    region: str | None = None
    product: str | None = None
    category: str | None = None
    months: tuple[str, ...] = ()

    def to_state(self) -> dict[str, Any]:
        """Plain JSON for the thread's state (the follow-up questions start from it)."""
        return {
            "metric": self.metric,
            "group_by": self.group_by,
            "rank": self.rank,
            "region": self.region,
            "product": self.product,
            "category": self.category,
            "months": list(self.months),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SalesQuestion:
        """The inverse of to_state."""
        return cls(**{**state, "months": tuple(state.get("months", ()))})

    def but(self, **changes: Any) -> SalesQuestion:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def matches(self, sale: Sale) -> bool:
        """Whether a sale is in this question's slice."""
        return (
            (self.region is None or sale.region == self.region)
            and (self.product is None or sale.product == self.product)
            and (self.category is None or sale.category == self.category)
            and (not self.months or sale.month in self.months)
        )


METRICS: dict[Metric, Callable[[Sequence[Sale]], float]] = {
    "revenue": lambda sales: sum(s.revenue for s in sales),
    "units": lambda sales: sum(s.units for s in sales),
    "orders": len,
    "average_order": lambda sales: sum(s.revenue for s in sales) / len(sales) if sales else 0.0,
}


@dataclass(frozen=True, slots=True)
class SalesFigures:
    """The computed answer: the slice's total, and per group when grouped (ordered)."""

    question: SalesQuestion
    total: float
    orders: int
    groups: tuple[tuple[str, float], ...] = ()


def compute(table: SalesTable, question: SalesQuestion) -> SalesFigures:
    """The figures for a question, computed from the table's rows."""
    rows = [s for s in table.sales if question.matches(s)]
    metric = METRICS[question.metric]
    groups: tuple[tuple[str, float], ...] = ()
    if question.group_by is not None:
        dimension = question.group_by
        by_group: dict[str, list[Sale]] = {}
        for sale in rows:
            by_group.setdefault(sale.dimension(dimension), []).append(sale)
        pairs = [(name, metric(sales)) for name, sales in by_group.items()]
        if dimension == "month" and question.rank is None:
            pairs.sort()
        else:
            # Ties broken by name so the answer never depends on row order.
            pairs.sort(key=lambda pair: (-pair[1], pair[0]))
        groups = tuple(pairs)
    return SalesFigures(question, metric(rows), len(rows), groups)
