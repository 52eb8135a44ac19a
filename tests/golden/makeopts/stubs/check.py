"""make() of makeopts.Check (computed).

A scaffold written once by `relflow-gen stubs` from makeopts.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from makeopts_pipeline import CheckKey, CheckMaker


class MakeCheck(CheckMaker):
    """Computed table makeopts.Check."""

    def make(self, key: CheckKey) -> None:
        """Compute the rows of makeopts.Check for one key and insert them.

        ``key`` (CheckKey):
            sample_id: int

        Insert the row with ``self.insert1({**key, ...})`` (CheckInsert):
            sample_id: int  # uint32
            ok: bool  # bool

        Read upstream rows through ``self.db``, e.g. ``(self.db.Summary & key).fetch1()``.
        """
        raise NotImplementedError("make() of makeopts.Check is not written yet")
