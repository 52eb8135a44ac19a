"""make() of sales.RepMonthlySales (computed).

A scaffold written once by `relflow-gen stubs` from sales.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from sales_pipeline import RepMonthlySalesKey, RepMonthlySalesMaker


class MakeRepMonthlySales(RepMonthlySalesMaker):
    """What one sales representative sold in a closed month."""

    def make(self, key: RepMonthlySalesKey) -> None:
        """Compute the rows of sales.RepMonthlySales for one key and insert them.

        ``key`` (RepMonthlySalesKey):
            employee_number: int
            month: str

        Insert the row with ``self.insert1({**key, ...})`` (RepMonthlySalesInsert):
            employee_number: int  # uint32
            month: str  # char(7): "YYYY-MM"
            n_orders: int  # uint32
            n_customers: int  # uint32
            revenue: Decimal  # decimal(14, 2)

        Read upstream rows through ``self.db``, e.g. ``(self.db.Employee & key).fetch1()``.
        """
        raise NotImplementedError("make() of sales.RepMonthlySales is not written yet")
