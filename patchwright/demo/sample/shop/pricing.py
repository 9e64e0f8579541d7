"""Prices of orders: line items, discounts and tax."""

from __future__ import annotations

from dataclasses import dataclass, field

from .money import round_cents


@dataclass
class LineItem:
    sku: str
    unit_price: float
    quantity: int = 1
    discount_percent: float = 0.0

    def subtotal(self) -> float:
        """The price of the line after its discount."""
        gross = self.unit_price * self.quantity
        return round_cents(gross * self.discount_percent / 100)


@dataclass
class Order:
    items: list[LineItem] = field(default_factory=list)
    tax_rate: float = 0.0

    def add(self, item: LineItem) -> None:
        if item.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {item.quantity}")
        self.items.append(item)


def order_total(order: Order) -> float:
    """The amount to charge: the sum of the line subtotals plus tax."""
    net = sum(item.subtotal() for item in order.items)
    return round_cents(net * (1 + order.tax_rate))
