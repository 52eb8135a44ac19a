"""make() of lab.NeuronStats (computed).

Written from a scaffold of `relflow-gen stubs` from examples/lab/lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from lab_pipeline import NeuronStatsKey, NeuronStatsMaker


class MakeNeuronStats(NeuronStatsMaker):
    """Firing statistics of one sorted unit."""

    def make(self, key: NeuronStatsKey) -> None:
        """Compute the rows of lab.NeuronStats for one key and insert them.

        ``key`` (NeuronStatsKey):
            subject_id: str
            session_id: int
            filter_id: int
            sorting_id: int
            unit_id: int

        Insert the row with ``self.insert1({**key, ...})`` (NeuronStatsInsert):
            subject_id: str  # varchar(16): lab-wide animal id, e.g. "mouse_042"
            session_id: int  # uint16: counts sessions per subject
            filter_id: int  # uint8
            sorting_id: int  # uint8
            unit_id: int  # uint16
            firing_rate: float  # float64: Hz over the whole recording
            isi_cv: NotRequired[float | None]  # float64: coefficient of variation of inter-spike intervals; null below 3 spikes
            refractory_violations: float  # float32: fraction of intervals shorter than 2 ms
            snr: float  # float32: peak amplitude / noise

        Read upstream rows through ``self.db``, e.g. ``(self.db.SpikeSorting.Unit & key).fetch1()``.
        """
        import numpy as np

        unit = (self.db.SpikeSorting.Unit & key).fetch1()
        duration = (self.db.Recording & key).fetch1()["duration"]
        noise = (self.db.FilteredRecording & key).fetch1()["noise_mad"] / 0.6745
        isi = np.diff(unit["spike_times"])
        self.insert1(
            {
                **key,
                "firing_rate": unit["n_spikes"] / duration,
                "isi_cv": float(isi.std() / isi.mean()) if len(isi) >= 2 and isi.mean() > 0 else None,
                "refractory_violations": float(np.mean(isi < 0.002)) if len(isi) else 0.0,
                "snr": abs(unit["peak_amplitude"]) / noise if noise > 0 else 0.0,
            }
        )
