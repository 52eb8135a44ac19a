"""make() of multisite.ProbeLfp (computed).

A scaffold written once by `relflow-gen stubs` from multisite.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from multisite_pipeline import ProbeLfpKey, ProbeLfpMaker


class MakeProbeLfp(ProbeLfpMaker):
    """Local field potential of a probe: its good channels low-passed and downsampled."""

    def make(self, key: ProbeLfpKey) -> None:
        """Compute the rows of multisite.ProbeLfp for one key and insert them.

        ``key`` (ProbeLfpKey):
            session_id: int
            probe_id: int

        Insert the row with ``self.insert1({**key, ...})`` (ProbeLfpInsert):
            session_id: int  # uint32
            probe_id: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            lfp_rate: NotRequired[float]  # float64: Hz, after downsampling
            lfp: Any  # blob: (n_good_channels, n_lfp_samples) float32, microvolts
            channel_ids: Any  # blob: (n_good_channels,) uint16, the rows of lfp
            site_depths: Any  # blob: (n_good_channels,) float32, mm

        Insert its BandPower parts with ``self.BandPower.insert([...])`` (ProbeLfpBandPowerInsert):
            session_id: int  # uint32
            probe_id: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            band: str  # varchar(16)
            mean_power: float  # float64: microvolts^2, averaged over the good channels
            depth_profile: Any  # blob: (n_good_channels,) float32, power of each channel

        Read upstream rows through ``self.db``, e.g. ``(self.db.ProbeQuality & key).fetch1()``.
        """
        raise NotImplementedError("make() of multisite.ProbeLfp is not written yet")
