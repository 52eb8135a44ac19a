"""make() of university.StudentGpa (computed).

A scaffold written once by `relflow-gen stubs` from university.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from university_pipeline import StudentGpaKey, StudentGpaMaker


class MakeStudentGpa(StudentGpaMaker):
    """A student's standing at the end of a finalized term."""

    def make(self, key: StudentGpaKey) -> None:
        """Compute the rows of university.StudentGpa for one key and insert them.

        ``key`` (StudentGpaKey):
            student_id: int
            term_year: int
            term: Literal["Spring", "Summer", "Fall"]

        Insert the row with ``self.insert1({**key, ...})`` (StudentGpaInsert):
            student_id: int  # uint32: university-wide ID number
            term_year: int  # uint16
            term: Literal["Spring", "Summer", "Fall"]
            term_credits: Decimal  # decimal(4, 1): graded credits attempted in this term
            term_gpa: NotRequired[Decimal | None]  # decimal(4, 3): credit-weighted; null without graded credits in the term
            credits_attempted: Decimal  # decimal(5, 1): cumulative, up to and including this term
            credits_earned: Decimal  # decimal(5, 1): cumulative credits with a passing grade
            cumulative_gpa: NotRequired[Decimal | None]  # decimal(4, 3): null before the student's first graded course

        Read upstream rows through ``self.db``, e.g. ``(self.db.Student & key).fetch1()``.
        """
        raise NotImplementedError("make() of university.StudentGpa is not written yet")
