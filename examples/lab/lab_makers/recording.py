"""make() of lab.Recording (imported).

Written from a scaffold of `relflow-gen stubs` from examples/lab/lab.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

import datetime

from lab_pipeline import RecordingKey, RecordingMaker

from .signal import seed_of, simulate_trace


class MakeRecording(RecordingMaker):
    """Raw voltage trace of a session, read from the acquisition system."""

    def make(self, key: RecordingKey) -> None:
        """Compute the rows of lab.Recording for one key and insert them.

        ``key`` (RecordingKey):
            subject_id: str
            session_id: int

        Insert the row with ``self.insert1({**key, ...})`` (RecordingInsert):
            subject_id: str  # varchar(16): lab-wide animal id, e.g. "mouse_042"
            session_id: int  # uint16: counts sessions per subject
            recording_file: str  # varchar(255): path relative to the raw-data root
            sampling_rate: float  # float64: Hz
            samples: Any  # blob: (n_samples,) float32 voltage, microvolts
            duration: float  # float64: s
            recorded_at: NotRequired[datetime.datetime | None]  # datetime(6): acquisition start, from the file header

        Read upstream rows through ``self.db``, e.g. ``(self.db.Session & key).fetch1()``.
        """
        session = (self.db.Session & key).fetch1()
        stops = (self.db.Session.Trial & key).column("stop_time")
        fs = 20000.0
        duration = float(max(stops, default=4.0)) + 1.0
        samples = simulate_trace(seed_of(key["subject_id"], key["session_id"]), fs, duration)
        self.insert1(
            {
                **key,
                "recording_file": f"raw/{key['subject_id']}/session{key['session_id']:03d}.dat",
                "sampling_rate": fs,
                "samples": samples,
                "duration": duration,
                "recorded_at": datetime.datetime.combine(session["session_date"], datetime.time(10, 0)),
            }
        )
