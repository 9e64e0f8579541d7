"""Amounts for display."""

from .money import round_money

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def format_money(value, currency: str = "EUR") -> str:
    """`1234.5` -> `€1,234.50`: the currency symbol, thousands separators, two decimals."""
    amount = round_money(value)
    symbol = SYMBOLS.get(currency, currency + " ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"
