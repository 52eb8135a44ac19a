"""make() implementations of the sales pipeline.

Written once by `relflow-gen stubs` from sales.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import sales_pipeline
    from sales_makers import MAKERS

    db = sales_pipeline.connect("sqlite:///sales.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .order_total import MakeOrderTotal
from .monthly_sales import MakeMonthlySales
from .rep_monthly_sales import MakeRepMonthlySales
from .customer_balance import MakeCustomerBalance

MAKERS = (
    MakeOrderTotal,
    MakeMonthlySales,
    MakeRepMonthlySales,
    MakeCustomerBalance,
)
