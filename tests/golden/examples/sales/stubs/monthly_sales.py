"""make() of sales.MonthlySales (computed).

A scaffold written once by `relflow-gen stubs` from sales.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from sales_pipeline import MonthlySalesKey, MonthlySalesMaker


class MakeMonthlySales(MonthlySalesMaker):
    """Sales of a closed month."""

    def make(self, key: MonthlySalesKey) -> None:
        """Compute the rows of sales.MonthlySales for one key and insert them.

        ``key`` (MonthlySalesKey):
            month: str

        Insert the row with ``self.insert1({**key, ...})`` (MonthlySalesInsert):
            month: str  # char(7): "YYYY-MM"
            n_orders: int  # uint32: orders placed in the month, cancelled ones excluded
            n_customers: int  # uint32: distinct customers who ordered
            n_units: int  # uint32
            revenue: Decimal  # decimal(14, 2)
            payments_received: Decimal  # decimal(14, 2)

        Insert its ByProductLine parts with ``self.ByProductLine.insert([...])`` (MonthlySalesByProductLineInsert):
            month: str  # char(7): "YYYY-MM"
            product_line: str  # varchar(50)
            n_units: int  # uint32
            revenue: Decimal  # decimal(14, 2)

        Insert its ByOffice parts with ``self.ByOffice.insert([...])`` (MonthlySalesByOfficeInsert):
            month: str  # char(7): "YYYY-MM"
            office_code: str  # varchar(10)
            n_orders: int  # uint32
            revenue: Decimal  # decimal(14, 2)

        Read upstream rows through ``self.db``, e.g. ``(self.db.SalesMonth & key).fetch1()``.
        """
        raise NotImplementedError("make() of sales.MonthlySales is not written yet")
