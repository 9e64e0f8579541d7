"""Invoices: lines, discounts and totals."""

from dataclasses import dataclass, field
from decimal import Decimal

from .money import round_money, to_decimal
from .tax import rate_for


@dataclass
class Line:
    description: str
    unit_price: Decimal
    quantity: int = 1
    category: str = "standard"

    @property
    def net(self) -> Decimal:
        return to_decimal(self.unit_price) * self.quantity


@dataclass
class Invoice:
    number: str
    lines: list = field(default_factory=list)
    discount: Decimal = Decimal("0")
    """A fraction of the net amount taken off every line (0.10 is ten percent)."""

    def add_line(self, description: str, unit_price, quantity: int = 1, category: str = "standard") -> Line:
        line = Line(description, to_decimal(unit_price), quantity, category)
        self.lines.append(line)
        return line

    def net_total(self) -> Decimal:
        factor = 1 - to_decimal(self.discount)
        return round_money(sum((line.net * factor for line in self.lines), Decimal("0")))

    def tax_total(self) -> Decimal:
        factor = 1 - to_decimal(self.discount)
        return round_money(sum((line.net * factor * rate_for(line.category) for line in self.lines), Decimal("0")))

    def total(self) -> Decimal:
        return self.net_total() + self.tax_total()
