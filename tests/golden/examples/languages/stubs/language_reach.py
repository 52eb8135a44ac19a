"""make() of languages.LanguageReach (computed).

A scaffold written once by `relflow-gen stubs` from languages.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from languages_pipeline import LanguageReachKey, LanguageReachMaker


class MakeLanguageReach(LanguageReachMaker):
    """How many of our people speak a language, and how well."""

    def make(self, key: LanguageReachKey) -> None:
        """Compute the rows of languages.LanguageReach for one key and insert them.

        ``key`` (LanguageReachKey):
            language: str

        Insert the row with ``self.insert1({**key, ...})`` (LanguageReachInsert):
            language: str  # char(2): ISO 639-1 code
            n_speakers: int  # uint32: people with any proficiency
            n_native: int  # uint32
            n_proficient: int  # uint32: C1 or C2, native speakers included

        Read upstream rows through ``self.db``, e.g. ``(self.db.Language & key).fetch1()``.
        """
        raise NotImplementedError("make() of languages.LanguageReach is not written yet")
