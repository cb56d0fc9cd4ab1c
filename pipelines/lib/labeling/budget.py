"""What labeling costs: items x labels per item x price, with QA overhead and contingency, and how
the items are split into a pilot and batches.

The rule and its reference figures are the seed's example 3 and its budget drill: 12,000 tickets x
2 labels x $0.09 = $2,160; with 20% QA overhead $2,592; with a 10% contingency $2,851.20; batches
30/40/30 so annotators learn the guideline before the bulk; a pilot of 100-300 items first."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, list_currencies


@dataclass(frozen=True)
class Budget:
    """The cost of labeling `items` items; amounts exact (Decimal), rounded only when shown."""

    items: int
    labels_per_item: int
    price_per_label: Decimal
    qa_overhead: Decimal  # share of the base cost: 0.20 = 20%
    contingency: Decimal  # share of the cost with QA
    currency: str = "USD"

    @property
    def labels(self) -> int:
        """Labels bought: items x labels per item."""
        return self.items * self.labels_per_item

    @property
    def base(self) -> Decimal:
        """labels x price per label."""
        return self.labels * self.price_per_label

    @property
    def with_qa(self) -> Decimal:
        """base x (1 + QA overhead)."""
        return self.base * (1 + self.qa_overhead)

    @property
    def total(self) -> Decimal:
        """with_qa x (1 + contingency): what to ask for."""
        return self.with_qa * (1 + self.contingency)

    def shown(self, amount: Decimal) -> str:
        """`amount` in the budget's currency, rounded to its minor unit: `$2,851.20`."""
        return money(amount, self.currency)

    def part(self, items: int) -> Budget:
        """The same prices for `items` items (one batch)."""
        return dataclasses.replace(self, items=items)


def budget(
    items: int,
    labels_per_item: int,
    price_per_label: Decimal | float | str,
    qa_overhead: Decimal | float | str = "0.20",
    contingency: Decimal | float | str = "0.10",
    currency: str = "USD",
) -> Budget:
    """A `Budget`; numbers given as floats are read through their shortest text (0.09 is 0.09, not
    0.0899999...). Raises ValueError for negative items, prices or shares, or no labels per item."""
    price, qa, extra = (_decimal(v) for v in (price_per_label, qa_overhead, contingency))
    if items < 0 or labels_per_item < 1 or price <= 0 or qa < 0 or extra < 0:
        raise ValueError(
            f"budget: items ({items}) must be >= 0, labels per item ({labels_per_item}) >= 1, price per label "
            f"({price}) > 0, QA overhead ({qa}) and contingency ({extra}) >= 0"
        )
    return Budget(items, labels_per_item, price, qa, extra, known_currency(currency))


def known_currency(code: str) -> str:
    """`code` upper-cased if it is an ISO 4217 currency CLDR knows; raises ValueError otherwise."""
    if code.upper() not in list_currencies():
        raise ValueError(f"currency {code!r} is not an ISO 4217 code (USD, EUR, GBP, ...)")
    return code.upper()


def cents(amount: Decimal) -> Decimal:
    """`amount` rounded half up to the minor unit (0.01)."""
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money(amount: Decimal, currency: str) -> str:
    """`amount` as the currency is written in English (babel/CLDR): `$2,592.00`, `€1,234.50`."""
    return format_currency(cents(amount), currency, locale="en_US")


def split_items(items: int, pilot: int, shares: list[float] | tuple[float, ...]) -> list[tuple[str, int]]:
    """The pilot (`pilot` items, at most `items`) then batches `batch-1`... holding `shares` of the
    rest, by largest remainder so that the sizes sum to `items` exactly. Empty batches are left out.
    [(name, items)], in the order they are labelled."""
    first = min(pilot, items)
    rest = items - first
    exact = [Decimal(str(share)) * rest for share in shares]
    sizes = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in by_remainder[: rest - sum(sizes)]:
        sizes[i] += 1
    named = [("pilot", first)] if first else []
    named += [(f"batch-{i + 1}", n) for i, n in enumerate(sizes) if n]
    return named


def _decimal(value: Decimal | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
