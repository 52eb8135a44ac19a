"""make() of lab.SpikeSorting (computed).

A scaffold written once by `relflow-gen stubs` from lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from lab_pipeline import SpikeSortingKey, SpikeSortingMaker


class MakeSpikeSorting(SpikeSortingMaker):
    """Spike detection and clustering of a filtered trace."""

    def make(self, key: SpikeSortingKey) -> None:
        """Compute the rows of lab.SpikeSorting for one key and insert them.

        ``key`` (SpikeSortingKey):
            subject_id: str
            session_id: int
            filter_id: int
            sorting_id: int

        Insert the row with ``self.insert1({**key, ...})`` (SpikeSortingInsert):
            subject_id: str  # varchar(16): lab-wide animal id, e.g. "mouse_042"
            session_id: int  # uint16: counts sessions per subject
            filter_id: int  # uint8
            sorting_id: int  # uint8
            n_units: int  # uint16
            n_detected: int  # uint32: threshold crossings, before clustering
            threshold_uv: float  # float64: the threshold actually applied, microvolts

        Insert its Unit parts with ``self.Unit.insert([...])`` (SpikeSortingUnitInsert):
            subject_id: str  # varchar(16): lab-wide animal id, e.g. "mouse_042"
            session_id: int  # uint16: counts sessions per subject
            filter_id: int  # uint8
            sorting_id: int  # uint8
            unit_id: int  # uint16
            spike_times: Any  # blob: (n,) float64 s, sorted
            waveform: Any  # blob: (n_samples_window,) float32 mean waveform, microvolts
            n_spikes: int  # uint32
            peak_amplitude: float  # float32: microvolts, trough of the mean waveform

        Read upstream rows through ``self.db``, e.g. ``(self.db.FilteredRecording & key).fetch1()``.
        """
        raise NotImplementedError("make() of lab.SpikeSorting is not written yet")
