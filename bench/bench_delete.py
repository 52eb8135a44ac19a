"""W5: cascading delete next to the raw driver deleting the same rows by key range.

Run:  python bench/bench_delete.py [--repeat N] [--backends sqlite,mysql] [--mysql-url URL]

Subject -> Session -> Trial (three levels, every key a prefix of the next).  The tables hold 20
subjects; the delete is ``(Subject & "subject_id < 10").delete()``, which takes

* big:  10 subjects x 100 sessions x 20 trials = 21,010 rows;
* tiny: 10 subjects x 1 session x 20 trials = 210 rows (the fixed cost of a cascade).

The floor deletes the same rows with the raw driver, children first, by primary-key range
(``DELETE FROM trial WHERE subject_id < 10`` ...), in one transaction.  Each run refills the
tables first (not timed).  Targets: big <= 1.3x the floor, tiny <= 3x the floor.

This is a script, not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import RawDB, Timing, mysql_server, open_pipeline, paired  # noqa: E402

SCHEMA = """
schema benchdel

manual Subject {
    subject_id: int32
    ---
    name: varchar(32)
}

manual Session {
    -> Subject
    session_id: int32
    ---
    note: varchar(32)
}

manual Trial {
    -> Session
    trial_id: int32
    ---
    value: float64
}
"""

def rows(subjects: range, sessions: int, trials: int) -> tuple[list[dict[str, Any]], ...]:
    subj = [{"subject_id": s, "name": f"s{s}"} for s in subjects]
    ses = [{"subject_id": s, "session_id": j, "note": "x"} for s in subjects for j in range(sessions)]
    tri = [dict(subject_id=k["subject_id"], session_id=k["session_id"], trial_id=i, value=0.5)
           for k in ses for i in range(trials)]
    return subj, ses, tri


def refill(db: Any, subjects: range, sessions: int, trials: int) -> None:
    """Insert the rows of ``subjects`` that are missing (the ones a timed run deleted)."""
    present = {r["subject_id"] for r in db.table("Subject").fetch("subject_id")}
    missing = range(0) if all(s in present for s in subjects) else range(subjects.start, subjects.stop)
    for name, part in zip(("Subject", "Session", "Trial"), rows(missing, sessions, trials)):
        if part:
            db.table(name).insert(part, skip_duplicates=True)


#: (label, subjects in the tables, sessions per subject, trials per session, subjects deleted, target)
CASES = (
    ("W5 delete big", 20, 100, 20, 10, 1.3),  # 42,020 rows, 21,010 deleted
    ("W5 delete tiny", 200, 10, 20, 1, 3.0),  # 42,200 rows, 211 deleted
)


def workloads(db: Any, raw: RawDB, case: tuple[str, int, int, int, int, float]) -> tuple[Callable[[], object], Callable[[], object], Callable[[], object]]:
    """(floor, ours, reset) of one case; fills the tables."""
    _, subjects, sessions, trials, doomed, _ = case
    tables = [raw.table("benchdel", n) for n in ("trial", "session", "subject")]
    for name in ("Trial", "Session", "Subject"):
        db.table(name).delete_quick()
    refill(db, range(subjects), sessions, trials)

    def floor() -> None:
        raw.transaction([f"DELETE FROM {t} WHERE subject_id < {doomed}" for t in tables])

    def ours() -> None:
        counts = (db.table("Subject") & f"subject_id < {doomed}").delete()
        assert sum(counts.values()) == doomed * (1 + sessions + sessions * trials), counts

    return floor, ours, lambda: refill(db, range(doomed), sessions, trials)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,mysql")
    parser.add_argument("--mysql-url", default=os.environ.get("RELFLOW_BENCH_MYSQL_URL"))
    args = parser.parse_args()
    failed = 0
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory(prefix="relflow-bench-") as tmp, mysql_server(
            args.mysql_url if backend == "mysql" else None, backend
        ) as server:
            url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else f"{server}?prefix=bench{os.getpid()}_"
            db = open_pipeline(SCHEMA, url)
            raw = RawDB(url)
            try:
                for case in CASES:
                    name, target = case[0], case[-1]
                    floor, ours, reset = workloads(db, raw, case)
                    t: Timing = paired(floor, ours, reset, args.repeat)
                    mark = "ok" if t.ratio <= target else "OVER"
                    failed += mark != "ok"
                    print(f"{backend:7} {name:16} floor {t.raw * 1e3:8.1f} ms  ours {t.ours * 1e3:8.1f} ms  "
                          f"ratio {t.ratio:5.2f} (target {target})  {mark}", flush=True)
            finally:
                raw.drop_all()
                raw.close()
                db.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
