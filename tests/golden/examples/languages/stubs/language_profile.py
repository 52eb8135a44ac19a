"""make() of languages.LanguageProfile (computed).

A scaffold written once by `relflow-gen stubs` from languages.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from languages_pipeline import LanguageProfileKey, LanguageProfileMaker


class MakeLanguageProfile(LanguageProfileMaker):
    """Summary of one person's languages."""

    def make(self, key: LanguageProfileKey) -> None:
        """Compute the rows of languages.LanguageProfile for one key and insert them.

        ``key`` (LanguageProfileKey):
            person_id: int

        Insert the row with ``self.insert1({**key, ...})`` (LanguageProfileInsert):
            person_id: int  # uint32
            n_languages: int  # uint16
            n_native: int  # uint8
            best_foreign_level: NotRequired[str | None]  # char(2)
            families: NotRequired[Any]  # json: sorted list of the top-level families the person speaks

        Read upstream rows through ``self.db``, e.g. ``(self.db.Person & key).fetch1()``.
        """
        raise NotImplementedError("make() of languages.LanguageProfile is not written yet")
