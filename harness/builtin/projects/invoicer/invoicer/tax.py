"""VAT rates by product category."""

from decimal import Decimal

RATES = {
    "standard": Decimal("0.20"),
    "reduced": Decimal("0.05"),
    "books": Decimal("0.00"),
    "food": Decimal("0.00"),
}


def rate_for(category: str) -> Decimal:
    """The VAT rate of a category; unknown categories pay the standard rate."""
    return RATES.get(category, RATES["standard"])


def is_exempt(category: str) -> bool:
    return rate_for(category) == 0
