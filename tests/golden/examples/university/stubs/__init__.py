"""make() implementations of the university pipeline.

Written once by `relflow-gen stubs` from university.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import university_pipeline
    from university_makers import MAKERS

    db = university_pipeline.connect("sqlite:///university.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .section_grades import MakeSectionGrades
from .student_gpa import MakeStudentGpa
from .department_stats import MakeDepartmentStats

MAKERS = (
    MakeSectionGrades,
    MakeStudentGpa,
    MakeDepartmentStats,
)
