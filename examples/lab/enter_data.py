"""Enter the manual part of the lab pipeline: people, rigs, subjects, sessions and trials.

    python enter_data.py sqlite:///lab.db

(What an experimenter would type in over a few days; the rest is populate().)
"""

from __future__ import annotations

import datetime
import sys

import lab_pipeline as lab


def main(url: str) -> None:
    db = lab.connect(url)
    db.common.Experimenter.insert(
        [
            {"username": "ada", "full_name": "Ada Lovelace", "email": "ada@lab.example", "role": "postdoc"},
            {"username": "cajal", "full_name": "Santiago Ramon y Cajal", "role": "pi"},
        ],
        skip_duplicates=True,
    )
    db.Rig.insert1({"rig": "ephys1", "room": "B204", "amplifier": "Intan RHD2000"}, skip_duplicates=True)
    db.Subject.insert(
        [
            {"subject_id": "mouse_001", "species": "mouse", "sex": "F", "date_of_birth": datetime.date(2024, 3, 1)},
            {"subject_id": "mouse_002", "species": "mouse", "sex": "M"},
        ],
        skip_duplicates=True,
    )
    sessions: list[lab.SessionInsert] = []
    trials: list[lab.SessionTrialInsert] = []
    for subject in ("mouse_001", "mouse_002"):
        for s in (1, 2):
            sessions.append(
                {
                    "subject_id": subject,
                    "session_id": s,
                    "session_date": datetime.date(2024, 10, 27 + s),
                    "rig": "ephys1",
                    "experimenter": "ada",
                }
            )
            for t in range(6):
                trials.append(
                    {
                        "subject_id": subject,
                        "session_id": s,
                        "trial_id": t,
                        "start_time": 0.5 + t * 0.6,
                        "stop_time": 1.0 + t * 0.6,
                        "outcome": "success" if t % 3 else "failure",
                    }
                )
    db.Session.insert(sessions, skip_duplicates=True)
    db.Session.Trial.insert(trials, skip_duplicates=True)
    print(f"entered {len(db.Subject)} subjects, {len(db.Session)} sessions, {len(db.Session.Trial)} trials")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///lab.db")
