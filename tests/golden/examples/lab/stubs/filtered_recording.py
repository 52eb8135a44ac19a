"""make() of lab.FilteredRecording (computed).

A scaffold written once by `relflow-gen stubs` from lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from lab_pipeline import FilteredRecordingKey, FilteredRecordingMaker


class MakeFilteredRecording(FilteredRecordingMaker):
    """The raw trace passed through one filter."""

    def make(self, key: FilteredRecordingKey) -> None:
        """Compute the rows of lab.FilteredRecording for one key and insert them.

        ``key`` (FilteredRecordingKey):
            subject_id: str
            session_id: int
            filter_id: int

        Insert the row with ``self.insert1({**key, ...})`` (FilteredRecordingInsert):
            subject_id: str  # varchar(16): lab-wide animal id, e.g. "mouse_042"
            session_id: int  # uint16: counts sessions per subject
            filter_id: int  # uint8
            filtered: Any  # blob: (n_samples,) float32, microvolts
            noise_mad: float  # float64: median absolute deviation of the filtered trace, microvolts

        Read upstream rows through ``self.db``, e.g. ``(self.db.Recording & key).fetch1()``.
        """
        raise NotImplementedError("make() of lab.FilteredRecording is not written yet")
