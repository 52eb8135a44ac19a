"""make() of multisite.ProbeQuality (computed).

A scaffold written once by `relflow-gen stubs` from multisite.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from multisite_pipeline import ProbeQualityKey, ProbeQualityMaker


class MakeProbeQuality(ProbeQualityMaker):
    """Screening of a probe's channels."""

    def make(self, key: ProbeQualityKey) -> None:
        """Compute the rows of multisite.ProbeQuality for one key and insert them.

        ``key`` (ProbeQualityKey):
            session_id: int
            probe_id: int

        Insert the row with ``self.insert1({**key, ...})`` (ProbeQualityInsert):
            session_id: int  # uint32
            probe_id: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            n_channels: int  # uint16
            n_bad: int  # uint16: channels flagged as bad
            median_noise: float  # float32: median of the channels' noise, microvolts

        Insert its Channel parts with ``self.Channel.insert([...])`` (ProbeQualityChannelInsert):
            session_id: int  # uint32
            probe_id: int  # uint8: probe slot on the rig: 0, 1, 2, ...
            channel_id: int  # uint16: channel number on its probe
            rms: float  # float32: microvolts
            noise: float  # float32: robust noise estimate: median absolute deviation / 0.6745, microvolts
            saturated_fraction: float  # float32: fraction of samples at the amplifier's limits
            is_bad: bool  # bool: flat, saturated or far noisier than the probe's median

        Read upstream rows through ``self.db``, e.g. ``(self.db.Recording & key).fetch1()``.
        """
        raise NotImplementedError("make() of multisite.ProbeQuality is not written yet")
