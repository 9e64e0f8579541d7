from decimal import Decimal

from invoicer import Invoice


def make():
    inv = Invoice("2024-001")
    inv.add_line("Consulting", "100.00", 2)
    inv.add_line("Novel", "20.00", 1, category="books")
    return inv


def test_net_total():
    assert make().net_total() == Decimal("220.00")


def test_tax_total_standard_and_books():
    assert make().tax_total() == Decimal("40.00")


def test_total_with_discount():
    inv = make()
    inv.discount = Decimal("0.10")
    assert inv.total() == Decimal("234.00")
