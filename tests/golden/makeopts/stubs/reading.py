"""make() of makeopts.Reading (imported).

A scaffold written once by `relflow-gen stubs` from makeopts.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from makeopts_pipeline import ReadingKey, ReadingMaker


class MakeReading(ReadingMaker):
    """Read from a network file system that sometimes fails."""

    def make(self, key: ReadingKey) -> None:
        """Compute the rows of makeopts.Reading for one key and insert them.

        ``key`` (ReadingKey):
            sample_id: int

        Insert the row with ``self.insert1({**key, ...})`` (ReadingInsert):
            sample_id: int  # uint32
            value: float  # float64

        Insert its Channel parts with ``self.Channel.insert([...])`` (ReadingChannelInsert):
            sample_id: int  # uint32
            channel: int  # uint8
            level: float  # float64

        Read upstream rows through ``self.db``, e.g. ``(self.db.Sample & key).fetch1()``.
        """
        raise NotImplementedError("make() of makeopts.Reading is not written yet")
