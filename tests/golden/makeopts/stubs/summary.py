"""make() of makeopts.Summary (computed).

A scaffold written once by `relflow-gen stubs` from makeopts.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from makeopts_pipeline import SummaryKey, SummaryMaker


class MakeSummary(SummaryMaker):
    """Computed table makeopts.Summary."""

    def make(self, key: SummaryKey) -> None:
        """Compute the rows of makeopts.Summary for one key and insert them.

        ``key`` (SummaryKey):
            sample_id: int

        Insert the row with ``self.insert1({**key, ...})`` (SummaryInsert):
            sample_id: int  # uint32
            total: float  # float64

        Read upstream rows through ``self.db``, e.g. ``(self.db.Reading & key).fetch1()``.
        """
        raise NotImplementedError("make() of makeopts.Summary is not written yet")
