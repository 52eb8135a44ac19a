"""make() of imaging.Registration (computed).

A scaffold written once by `relflow-gen stubs` from stores.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from imaging_pipeline import RegistrationKey, RegistrationMaker


class MakeRegistration(RegistrationMaker):
    """Computed table imaging.Registration."""

    def make(self, key: RegistrationKey) -> None:
        """Compute the rows of imaging.Registration for one key and insert them.

        ``key`` (RegistrationKey):
            scan_id: int

        Insert the row with ``self.insert1({**key, ...})`` (RegistrationInsert):
            scan_id: int  # int32
            shifts: Any  # blob@raw
            volume: NotRequired[pathlib.Path | str | StoreRef | None]  # object@raw: a zarr folder

        Read upstream rows through ``self.db``, e.g. ``(self.db.Scan & key).fetch1()``.
        """
        raise NotImplementedError("make() of imaging.Registration is not written yet")
