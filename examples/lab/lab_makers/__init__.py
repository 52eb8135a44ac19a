"""make() implementations of the lab pipeline.

Written once by `relflow-gen stubs` from examples/lab/lab.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import lab_pipeline
    from lab_makers import MAKERS

    db = lab_pipeline.connect("sqlite:///lab.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .recording import MakeRecording
from .filtered_recording import MakeFilteredRecording
from .spike_sorting import MakeSpikeSorting
from .neuron_stats import MakeNeuronStats
from .trial_response import MakeTrialResponse

MAKERS = (
    MakeRecording,
    MakeFilteredRecording,
    MakeSpikeSorting,
    MakeNeuronStats,
    MakeTrialResponse,
)
