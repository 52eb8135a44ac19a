"""make() implementations of the alltypes pipeline.

Written once by `relflow-gen stubs` from alltypes.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import alltypes_pipeline
    from alltypes_makers import MAKERS

    db = alltypes_pipeline.connect("sqlite:///alltypes.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .measure import MakeMeasure

MAKERS = (MakeMeasure,)
