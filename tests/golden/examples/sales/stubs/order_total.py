"""make() of sales.OrderTotal (computed).

A scaffold written once by `relflow-gen stubs` from sales.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from sales_pipeline import OrderTotalKey, OrderTotalMaker


class MakeOrderTotal(OrderTotalMaker):
    """Totals of one order, from its lines."""

    def make(self, key: OrderTotalKey) -> None:
        """Compute the rows of sales.OrderTotal for one key and insert them.

        ``key`` (OrderTotalKey):
            order_number: int

        Insert the row with ``self.insert1({**key, ...})`` (OrderTotalInsert):
            order_number: int  # uint32
            n_lines: int  # uint16
            n_units: int  # uint32
            order_value: Decimal  # decimal(12, 2): sum of quantity * price_each
            order_cost: Decimal  # decimal(12, 2): sum of quantity * buy_price
            margin: Decimal  # decimal(12, 2): order_value - order_cost

        Read upstream rows through ``self.db``, e.g. ``(self.db.SalesOrder & key).fetch1()``.
        """
        raise NotImplementedError("make() of sales.OrderTotal is not written yet")
