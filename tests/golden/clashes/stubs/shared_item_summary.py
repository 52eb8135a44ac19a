"""make() of shared.ItemSummary (computed).

A scaffold written once by `relflow-gen stubs` from clashes.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from clashes_pipeline import SharedItemSummaryKey, SharedItemSummaryMaker


class MakeSharedItemSummary(SharedItemSummaryMaker):
    """Computed in an imported schema: its maker lives in the root's package."""

    def make(self, key: SharedItemSummaryKey) -> None:
        """Compute the rows of shared.ItemSummary for one key and insert them.

        ``key`` (SharedItemSummaryKey):
            item_id: int

        Insert the row with ``self.insert1({**key, ...})`` (SharedItemSummaryInsert):
            item_id: int  # int32
            n: int  # int32

        Insert its Detail parts with ``self.Detail.insert([...])`` (SharedItemSummaryDetailInsert):
            item_id: int  # int32
            detail_id: int  # int16
            value: NotRequired[float | None]  # float64

        Read upstream rows through ``self.db``, e.g. ``(self.db.shared.Item & key).fetch1()``.
        """
        raise NotImplementedError("make() of shared.ItemSummary is not written yet")
