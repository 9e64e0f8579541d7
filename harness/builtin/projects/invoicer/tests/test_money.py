from decimal import Decimal

import pytest

from invoicer.money import round_money, split_evenly, to_decimal


def test_to_decimal_accepts_str_and_int():
    assert to_decimal("1.10") == Decimal("1.10")
    assert to_decimal(3) == Decimal(3)


def test_to_decimal_refuses_float():
    with pytest.raises(TypeError):
        to_decimal(0.1)


def test_round_money_keeps_exact_values():
    assert round_money("12.34") == Decimal("12.34")


def test_split_evenly_adds_up():
    parts = split_evenly("10.00", 3)
    assert sum(parts) == Decimal("10.00")
    assert max(parts) - min(parts) <= Decimal("0.01")
