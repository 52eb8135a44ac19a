"""make() implementations of the languages pipeline.

Written once by `relflow-gen stubs` from languages.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import languages_pipeline
    from languages_makers import MAKERS

    db = languages_pipeline.connect("sqlite:///languages.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .language_reach import MakeLanguageReach
from .family_reach import MakeFamilyReach
from .language_profile import MakeLanguageProfile

MAKERS = (
    MakeLanguageReach,
    MakeFamilyReach,
    MakeLanguageProfile,
)
