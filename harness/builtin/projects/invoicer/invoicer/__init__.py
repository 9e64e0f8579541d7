"""Invoicing helpers."""

from .invoice import Invoice, Line
from .money import round_money

__all__ = ["Invoice", "Line", "round_money"]
