"""make() implementations of the multisite pipeline.

Written once by `relflow-gen stubs` from multisite.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import multisite_pipeline
    from multisite_makers import MAKERS

    db = multisite_pipeline.connect("sqlite:///multisite.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .recording import MakeRecording
from .probe_quality import MakeProbeQuality
from .probe_lfp import MakeProbeLfp
from .probe_coherence import MakeProbeCoherence

MAKERS = (
    MakeRecording,
    MakeProbeQuality,
    MakeProbeLfp,
    MakeProbeCoherence,
)
