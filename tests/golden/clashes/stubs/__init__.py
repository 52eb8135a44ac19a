"""make() implementations of the clashes pipeline.

Written once by `relflow-gen stubs` from clashes.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import clashes_pipeline
    from clashes_makers import MAKERS

    db = clashes_pipeline.connect("sqlite:///clashes.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .shared_item_summary import MakeSharedItemSummary
from .computed_2 import MakeComputed_2
from .imported_2 import MakeImported_2

MAKERS = (
    MakeSharedItemSummary,
    MakeComputed_2,
    MakeImported_2,
)
