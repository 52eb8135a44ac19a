"""make() of lab.TrialResponse (computed).

Written from a scaffold of `relflow-gen stubs` from examples/lab/lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from lab_pipeline import TrialResponseKey, TrialResponseMaker


class MakeTrialResponse(TrialResponseMaker):
    """Spike count of one unit in one trial."""

    def make(self, key: TrialResponseKey) -> None:
        """Compute the rows of lab.TrialResponse for one key and insert them.

        ``key`` (TrialResponseKey):
            subject_id: str
            session_id: int
            filter_id: int
            sorting_id: int
            unit_id: int
            trial_id: int

        Insert the row with ``self.insert1({**key, ...})`` (TrialResponseInsert):
            subject_id: str  # varchar(16): lab-wide animal id, e.g. "mouse_042"
            session_id: int  # uint16: counts sessions per subject
            filter_id: int  # uint8
            sorting_id: int  # uint8
            unit_id: int  # uint16
            trial_id: int  # uint32
            spike_count: int  # uint32
            rate: float  # float64: Hz within the trial window

        Read upstream rows through ``self.db``, e.g. ``self.db.SpikeSorting.Unit.restrict(key, ignore_extra_fields=True).fetch1()``.
        """
        import numpy as np

        times = (self.db.SpikeSorting.Unit & key).fetch1()["spike_times"]
        trial = (self.db.Session.Trial & key).fetch1()
        start, stop = trial["start_time"], trial["stop_time"]
        count = int(np.count_nonzero((times >= start) & (times < stop)))
        self.insert1({**key, "spike_count": count, "rate": count / (stop - start) if stop > start else 0.0})
