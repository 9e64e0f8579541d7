"""A tiny order-pricing library."""

from .pricing import LineItem, Order, order_total

__all__ = ["Order", "LineItem", "order_total"]
