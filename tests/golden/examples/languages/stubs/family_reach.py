"""make() of languages.FamilyReach (computed).

A scaffold written once by `relflow-gen stubs` from languages.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from languages_pipeline import FamilyReachKey, FamilyReachMaker


class MakeFamilyReach(FamilyReachMaker):
    """Speakers of a family, counting every language of its branches."""

    def make(self, key: FamilyReachKey) -> None:
        """Compute the rows of languages.FamilyReach for one key and insert them.

        ``key`` (FamilyReachKey):
            family: str

        Insert the row with ``self.insert1({**key, ...})`` (FamilyReachInsert):
            family: str  # varchar(32)
            n_languages: int  # uint16: languages of the family and all its sub-branches
            n_speakers: int  # uint32: distinct people speaking at least one of them
            n_native: int  # uint32: distinct native speakers of at least one of them

        Read upstream rows through ``self.db``, e.g. ``(self.db.LanguageFamily & key).fetch1()``.
        """
        raise NotImplementedError("make() of languages.FamilyReach is not written yet")
