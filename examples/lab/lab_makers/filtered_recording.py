"""make() of lab.FilteredRecording (computed).

Written from a scaffold of `relflow-gen stubs` from examples/lab/lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from lab_pipeline import FilteredRecordingKey, FilteredRecordingMaker

from .signal import band_filter, mad


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

        Read upstream rows through ``self.db``, e.g. ``self.db.Recording.restrict(key, ignore_extra_fields=True).fetch1()``.
        """
        rec = (self.db.Recording & key).fetch1()
        params = (self.db.FilterParams & key).fetch1()
        filtered = band_filter(
            rec["samples"],
            rec["sampling_rate"],
            params["filter_type"],
            params["low_cutoff"],
            params["high_cutoff"],
            params["filter_order"],
        )
        self.insert1({**key, "filtered": filtered, "noise_mad": mad(filtered)})
