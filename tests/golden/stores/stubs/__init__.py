"""make() implementations of the imaging pipeline.

Written once by `relflow-gen stubs` from stores.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import imaging_pipeline
    from imaging_makers import MAKERS

    db = imaging_pipeline.connect("sqlite:///imaging.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .registration import MakeRegistration

MAKERS = (MakeRegistration,)
