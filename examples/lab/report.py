"""Ask the populated lab pipeline a few questions (the query algebra at work).

    python report.py sqlite:///lab.db
"""

from __future__ import annotations

import sys

import lab_pipeline as lab


def main(url: str) -> None:
    db = lab.connect(url, declare=False)
    busy = db.Session.aggr(db.Session.Trial, n_trials="count(*)") & "n_trials > 5"
    print(f"sessions with more than 5 trials: {len(busy)}")

    units = db.SpikeSorting.aggr(db.SpikeSorting.Unit, n="count(*)", spikes="sum(n_spikes)")
    best = units.fetch(order_by=["n DESC", "spikes DESC"], limit=3)
    print("sortings with the most units:")
    for row in best:
        print(f"  {row['subject_id']} session {row['session_id']} filter {row['filter_id']} "
              f"sorting {row['sorting_id']}: {row['n']} units, {row['spikes']} spikes")

    good = (db.NeuronStats * db.FilterParams) & {"filter_type": "bandpass"} & "snr > 5"
    rates = good.column("firing_rate")
    if rates:
        print(f"well-isolated units (bandpass, snr > 5): {len(rates)}, "
              f"mean rate {sum(rates) / len(rates):.1f} Hz")

    hippocampus = db.BrainRegion & {"acronym": "HPF"}
    children = db.BrainRegion & hippocampus.proj(parent_id="region_id")
    print("regions directly under HPF:", ", ".join(sorted(children.column("acronym"))))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///lab.db")
