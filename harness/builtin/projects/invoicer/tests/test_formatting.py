from invoicer.formatting import format_money


def test_format_money_euro():
    assert format_money("1234.5") == "€1,234.50"


def test_format_money_unknown_currency():
    assert format_money("3", "CHF") == "CHF 3.00"


def test_format_money_negative():
    assert format_money("-2.5", "USD") == "-$2.50"
