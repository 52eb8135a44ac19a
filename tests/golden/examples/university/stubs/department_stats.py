"""make() of university.DepartmentStats (computed).

A scaffold written once by `relflow-gen stubs` from university.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from university_pipeline import DepartmentStatsKey, DepartmentStatsMaker


class MakeDepartmentStats(DepartmentStatsMaker):
    """A department's teaching in a finalized term."""

    def make(self, key: DepartmentStatsKey) -> None:
        """Compute the rows of university.DepartmentStats for one key and insert them.

        ``key`` (DepartmentStatsKey):
            dept: str
            term_year: int
            term: Literal["Spring", "Summer", "Fall"]

        Insert the row with ``self.insert1({**key, ...})`` (DepartmentStatsInsert):
            dept: str  # varchar(6): abbreviated department name, e.g. BIOL
            term_year: int  # uint16
            term: Literal["Spring", "Summer", "Fall"]
            n_sections: int  # uint16
            n_enrollments: int  # uint32
            n_majors: int  # uint32: students who had declared the major by the end of the term
            dept_mean_points: NotRequired[Decimal | None]  # decimal(4, 3): mean grade points over the department's graded enrollments

        Read upstream rows through ``self.db``, e.g. ``(self.db.Department & key).fetch1()``.
        """
        raise NotImplementedError("make() of university.DepartmentStats is not written yet")
