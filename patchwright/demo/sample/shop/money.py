"""Money helpers."""

from decimal import ROUND_HALF_UP, Decimal


def round_cents(amount: float) -> float:
    """Round to whole cents, halves away from zero."""
    return float(Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
