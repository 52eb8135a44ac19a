"""make() of lab.SpikeSorting (computed).

Written from a scaffold of `relflow-gen stubs` from examples/lab/lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from lab_pipeline import SpikeSortingKey, SpikeSortingMaker

from .signal import cluster_amplitudes, detect


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

        Read upstream rows through ``self.db``, e.g. ``self.db.FilteredRecording.restrict(key, ignore_extra_fields=True).fetch1()``.
        """
        import numpy as np

        trace = (self.db.FilteredRecording & key).fetch1()
        fs = (self.db.Recording & key).fetch1()["sampling_rate"]
        params = (self.db.SortingParams & key).fetch1()
        threshold = params["threshold"] * trace["noise_mad"] / 0.6745
        filtered = trace["filtered"]
        troughs = detect(filtered, fs, threshold, params["dead_time"])
        before = int(params["window_before"] * fs / 1000.0)
        after = int(params["window_after"] * fs / 1000.0)
        troughs = troughs[(troughs >= before) & (troughs + after < len(filtered))]
        amplitudes = -filtered[troughs].astype(np.float64)
        labels = cluster_amplitudes(amplitudes, params["max_units"])
        units = sorted(set(int(u) for u in labels if u >= 0))
        self.insert1({**key, "n_units": len(units), "n_detected": len(troughs), "threshold_uv": float(threshold)})
        for unit in units:
            spikes = troughs[labels == unit]
            waveforms = np.stack([filtered[s - before : s + after] for s in spikes])
            mean_waveform = waveforms.mean(axis=0).astype(np.float32)
            self.Unit.insert1(
                {
                    **key,
                    "unit_id": unit,
                    "spike_times": spikes / fs,
                    "waveform": mean_waveform,
                    "n_spikes": len(spikes),
                    "peak_amplitude": float(mean_waveform.min()),
                }
            )
