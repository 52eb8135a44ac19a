"""make() of multisite.ProbeCoherence (computed).

A scaffold written once by `relflow-gen stubs` from multisite.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from multisite_pipeline import ProbeCoherenceKey, ProbeCoherenceMaker


class MakeProbeCoherence(ProbeCoherenceMaker):
    """Coherence of the LFPs of two probes of one session, in one band."""

    def make(self, key: ProbeCoherenceKey) -> None:
        """Compute the rows of multisite.ProbeCoherence for one key and insert them.

        ``key`` (ProbeCoherenceKey):
            session_id: int
            probe_a: int
            probe_b: int
            band: str

        Insert the row with ``self.insert1({**key, ...})`` (ProbeCoherenceInsert):
            session_id: int  # uint32
            probe_a: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            probe_b: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            band: str  # varchar(16)
            coherence: float  # float32: mean magnitude-squared coherence of the probes' mean LFPs; 1 when probe_a = probe_b
            phase_lag: NotRequired[float | None]  # float32: mean phase of a relative to b, radians; null when a = b

        Read upstream rows through ``self.db``, e.g. ``(self.db.LfpBand & key).fetch1()``.
        """
        raise NotImplementedError("make() of multisite.ProbeCoherence is not written yet")
