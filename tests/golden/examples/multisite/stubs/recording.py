"""make() of multisite.Recording (imported).

A scaffold written once by `relflow-gen stubs` from multisite.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from multisite_pipeline import RecordingKey, RecordingMaker


class MakeRecording(RecordingMaker):
    """Raw signals of all probes of a session, read from the acquisition files."""

    def make(self, key: RecordingKey) -> None:
        """Compute the rows of multisite.Recording for one key and insert them.

        ``key`` (RecordingKey):
            session_id: int

        Insert the row with ``self.insert1({**key, ...})`` (RecordingInsert):
            session_id: int  # uint32
            recording_file: str  # varchar(255): path relative to the raw-data root
            sampling_rate: float  # float64: Hz, shared by all channels
            duration: float  # float64: s

        Insert its Channel parts with ``self.Channel.insert([...])`` (RecordingChannelInsert):
            session_id: int  # uint32
            probe_id: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            channel_id: int  # uint16: channel number on its probe
            site_depth: float  # float32: depth of the recording site below the brain surface, mm
            trace: Any  # blob: (n_samples,) float32, microvolts (`signal` is reserved in MySQL)

        Read upstream rows through ``self.db``, e.g. ``(self.db.Session & key).fetch1()``.
        """
        raise NotImplementedError("make() of multisite.Recording is not written yet")
