"""make() of clashes.Imported (imported).

A scaffold written once by `relflow-gen stubs` from clashes.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from clashes_pipeline import Imported_2Key, Imported_2Maker


class MakeImported_2(Imported_2Maker):
    """Imported table clashes.Imported."""

    def make(self, key: Imported_2Key) -> None:
        """Compute the rows of clashes.Imported for one key and insert them.

        ``key`` (Imported_2Key):
            item_id: int
            foo_bar_id: int

        Insert the row with ``self.insert1({**key, ...})`` (Imported_2Insert):
            item_id: int  # int32
            foo_bar_id: int  # int32
            payload: Any  # blob

        Read upstream rows through ``self.db``, e.g. ``(self.db.shared.Item & key).fetch1()``.
        """
        raise NotImplementedError("make() of clashes.Imported is not written yet")
