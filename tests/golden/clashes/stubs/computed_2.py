"""make() of clashes.Computed (computed).

A scaffold written once by `relflow-gen stubs` from clashes.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from clashes_pipeline import Computed_2Key, Computed_2Maker


class MakeComputed_2(Computed_2Maker):
    """Computed table clashes.Computed."""

    def make(self, key: Computed_2Key) -> None:
        """Compute the rows of clashes.Computed for one key and insert them.

        ``key`` (Computed_2Key):
            p_id: int
            l_id: int

        Insert the row with ``self.insert1({**key, ...})`` (Computed_2Insert):
            p_id: int  # int32
            l_id: int  # int32
            total: float  # float64

        Insert its Maker parts with ``self.Maker.insert([...])`` (ComputedMakerInsert):
            p_id: int  # int32
            l_id: int  # int32
            item_id: int  # int32
            weight: NotRequired[float]  # float64

        Read upstream rows through ``self.db``, e.g. ``(self.db.Part & key).fetch1()``.
        """
        raise NotImplementedError("make() of clashes.Computed is not written yet")
