"""make() of alltypes.Measure (computed).

A scaffold written once by `relflow-gen stubs` from alltypes.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from alltypes_pipeline import MeasureKey, MeasureMaker


class MakeMeasure(MeasureMaker):
    """A doc on two lines: the second one, with a <tag> & an ampersand."""

    def make(self, key: MeasureKey) -> None:
        """Compute the rows of alltypes.Measure for one key and insert them.

        ``key`` (MeasureKey):
            sample_id: uuid.UUID

        Insert the row with ``self.insert1({**key, ...})`` (MeasureInsert):
            sample_id: uuid.UUID  # uuid
            value: float  # float64
            other_kind: NotRequired[Literal["a", "b c", "it's"] | None]

        Read upstream rows through ``self.db``, e.g. ``(self.db.Sample & key).fetch1()``.
        """
        raise NotImplementedError("make() of alltypes.Measure is not written yet")
