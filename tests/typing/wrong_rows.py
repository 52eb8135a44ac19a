"""Reading and writing rows of tables with mistakes."""

from __future__ import annotations

import datetime

import lab_pipeline as lab


def use(db: lab.LabPipeline) -> None:
    db.Subject.insert1({"subject_id": "m1", "species": "mouse", "sex": "X"})  # E: typeddict-item
    db.Subject.insert1({"subject_id": "m1"})  # E: typeddict-item
    db.Subject.insert1({"subject_id": "m1", "species": "mouse", "weight": 3})  # E: typeddict-unknown-key
    db.Session.Trial.insert1({"subject_id": "m1", "session_id": 1, "session_date": datetime.date.today()})  # E: typeddict-item typeddict-unknown-key
    row = db.Subject.fetch1()
    born: datetime.date = row["date_of_birth"]  # E: assignment
    print(row["session_id"])  # E: typeddict-item
    db.common.Species.insert1({"species": "dog", "common_name": "Dog"})  # E: typeddict-item
