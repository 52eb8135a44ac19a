"""make() of sales.CustomerBalance (computed).

A scaffold written once by `relflow-gen stubs` from sales.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from sales_pipeline import CustomerBalanceKey, CustomerBalanceMaker


class MakeCustomerBalance(CustomerBalanceMaker):
    """A customer's account at the end of a closed month."""

    def make(self, key: CustomerBalanceKey) -> None:
        """Compute the rows of sales.CustomerBalance for one key and insert them.

        ``key`` (CustomerBalanceKey):
            customer_number: int
            month: str

        Insert the row with ``self.insert1({**key, ...})`` (CustomerBalanceInsert):
            customer_number: int  # uint32
            month: str  # char(7): "YYYY-MM"
            total_ordered: Decimal  # decimal(14, 2): all shipped or open orders up to the month's last day
            total_paid: Decimal  # decimal(14, 2): all payments up to the month's last day
            balance: Decimal  # decimal(14, 2): total_ordered - total_paid
            over_limit: bool  # bool: balance exceeds the credit limit

        Read upstream rows through ``self.db``, e.g. ``(self.db.Customer & key).fetch1()``.
        """
        raise NotImplementedError("make() of sales.CustomerBalance is not written yet")
