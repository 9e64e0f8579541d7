"""Money arithmetic on Decimal values."""

from decimal import Decimal


def to_decimal(value) -> Decimal:
    """A Decimal from an int, a str or a Decimal (floats are refused: they are not exact)."""
    if isinstance(value, float):
        raise TypeError("use a str or a Decimal for money, not a float")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_money(value, places: int = 2) -> Decimal:
    """Round an amount to `places` decimals the way invoices do (half away from zero)."""
    value = to_decimal(value)
    return Decimal(round(value, places))


def split_evenly(total, parts: int) -> list:
    """Split `total` into `parts` amounts that differ by at most one cent and add up to it."""
    total = round_money(total)
    cents = int(total * 100)
    base, extra = divmod(cents, parts)
    return [Decimal(base + (1 if i < extra else 0)) / 100 for i in range(parts)]
