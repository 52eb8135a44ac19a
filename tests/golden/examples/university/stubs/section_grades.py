"""make() of university.SectionGrades (computed).

A scaffold written once by `relflow-gen stubs` from university.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from university_pipeline import SectionGradesKey, SectionGradesMaker


class MakeSectionGrades(SectionGradesMaker):
    """Grade distribution of a section of a finalized term."""

    def make(self, key: SectionGradesKey) -> None:
        """Compute the rows of university.SectionGrades for one key and insert them.

        ``key`` (SectionGradesKey):
            dept: str
            course: int
            term_year: int
            term: Literal["Spring", "Summer", "Fall"]
            section: str

        Insert the row with ``self.insert1({**key, ...})`` (SectionGradesInsert):
            dept: str  # varchar(6): abbreviated department name, e.g. BIOL
            course: int  # uint16: course number, e.g. 1210
            term_year: int  # uint16
            term: Literal["Spring", "Summer", "Fall"]
            section: str  # char(1): a, b, c, ...
            n_enrolled: int  # uint16
            n_graded: int  # uint16
            mean_points: NotRequired[Decimal | None]  # decimal(4, 3): null when nobody in the section has a grade

        Insert its Distribution parts with ``self.Distribution.insert([...])`` (SectionGradesDistributionInsert):
            dept: str  # varchar(6): abbreviated department name, e.g. BIOL
            course: int  # uint16: course number, e.g. 1210
            term_year: int  # uint16
            term: Literal["Spring", "Summer", "Fall"]
            section: str  # char(1): a, b, c, ...
            grade: str  # char(2)
            n_students: int  # uint16

        Read upstream rows through ``self.db``, e.g. ``(self.db.Section & key).fetch1()``.
        """
        raise NotImplementedError("make() of university.SectionGrades is not written yet")
