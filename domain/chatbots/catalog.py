"""The product catalogue the shopping assistant sells from, and how it picks a product."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Product:
    """One product on sale."""

    sku: str
    name: str
    brand: str
    category: str
    price: int
    rating: float
    highlights: str

    def line(self) -> str:
        """The product in one line: name, price, rating."""
        return f"{self.name} (€{self.price:,}, rated {self.rating}/5)"


class Catalog:
    """The products, their categories and brands."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.products: tuple[Product, ...] = tuple(products)
        self.categories = sorted({p.category for p in self.products})
        self.brands = sorted({p.brand for p in self.products})

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        """A catalogue from JSON shaped like the shipped catalog.json."""
        data: dict[str, Any] = json.loads(text)
        return cls(Product(**item) for item in data["products"])

    @classmethod
    def load(cls) -> Catalog:
        """The sample catalogue shipped with the package."""
        text = resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")
        return cls.from_json(text)

    def by_sku(self, sku: str | None) -> Product | None:
        """The product with this SKU, if any."""
        return next((p for p in self.products if p.sku == sku), None)

    def cheapest(self, category: str) -> Product | None:
        """The cheapest product of a category."""
        in_category = [p for p in self.products if p.category == category]
        return min(in_category, key=lambda p: (p.price, p.name), default=None)

    def pick(
        self,
        category: str,
        *,
        budget: int | None = None,
        brand: str | None = None,
        below: int | None = None,
    ) -> tuple[Product | None, Product | None]:
        """The best match in a category and an alternative; (None, None) when nothing fits.

        Within budget (and under ``below``, for "something cheaper"), the
        preferred brand first, then the best rating, the lower price, the name:
        one catalogue, one answer.
        """
        fits = [
            p
            for p in self.products
            if p.category == category
            and (budget is None or p.price <= budget)
            and (below is None or p.price < below)
        ]
        ranked = sorted(fits, key=lambda p: (p.brand != brand, -p.rating, p.price, p.name))
        if not ranked:
            return None, None
        others = sorted(ranked[1:], key=lambda p: (-p.rating, p.price, p.name))
        return ranked[0], others[0] if others else None
