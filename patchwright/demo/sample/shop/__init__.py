"""A tiny order-pricing library."""

from .pricing import Order, LineItem, order_total

__all__ = ["Order", "LineItem", "order_total"]
