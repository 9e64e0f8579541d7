import unittest

from shop import LineItem, Order, order_total
from shop.money import round_cents


class PricingTest(unittest.TestCase):
    def test_no_discount(self):
        self.assertEqual(LineItem("a", 5.0, quantity=3).subtotal(), 15.0)

    def test_discount_reduces_price(self):
        self.assertEqual(LineItem("a", 100.0, discount_percent=10).subtotal(), 90.0)

    def test_order_total_with_tax(self):
        order = Order(tax_rate=0.2)
        order.add(LineItem("a", 10.0, quantity=2))
        order.add(LineItem("b", 50.0, discount_percent=50))
        self.assertEqual(order_total(order), 54.0)

    def test_rejects_zero_quantity(self):
        with self.assertRaises(ValueError):
            Order().add(LineItem("a", 1.0, quantity=0))

    def test_round_cents(self):
        self.assertEqual(round_cents(0.125), 0.13)


if __name__ == "__main__":
    unittest.main()
