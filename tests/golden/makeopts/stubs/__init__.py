"""make() implementations of the makeopts pipeline.

Written once by `relflow-gen stubs` from makeopts.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import makeopts_pipeline
    from makeopts_makers import MAKERS

    db = makeopts_pipeline.connect("sqlite:///makeopts.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .reading import MakeReading
from .summary import MakeSummary
from .check import MakeCheck

MAKERS = (
    MakeReading,
    MakeSummary,
    MakeCheck,
)
