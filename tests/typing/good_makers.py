"""Correct make() implementations for the research-lab example: mypy --strict accepts them."""

from __future__ import annotations

import datetime
from typing import Any

import lab_pipeline as lab
from lab_pipeline import (
    FilteredRecordingKey,
    FilteredRecordingMaker,
    NeuronStatsKey,
    NeuronStatsMaker,
    RecordingKey,
    RecordingMaker,
    SpikeSortingKey,
    SpikeSortingMaker,
    SpikeSortingUnitInsert,
    TrialResponseKey,
    TrialResponseMaker,
)


def load_samples(path: str) -> list[float]:
    return [0.0, 1.0]


class MakeRecording(RecordingMaker):
    def make(self, key: RecordingKey) -> None:
        session = (self.db.Session & key).fetch1()
        path = f"{key['subject_id']}/{session['session_date'].isoformat()}.dat"
        samples = load_samples(path)
        self.insert1(
            {
                **key,
                "recording_file": path,
                "sampling_rate": 30000.0,
                "samples": samples,
                "duration": len(samples) / 30000.0,
            }
        )


class MakeFilteredRecording(FilteredRecordingMaker):
    def make(self, key: FilteredRecordingKey) -> None:
        raw = (self.db.Recording & key).fetch1()
        params = (self.db.FilterParams & key).fetch1()
        low: float | None = params["low_cutoff"]
        filtered: Any = raw["samples"] if low is None else [s * 0.5 for s in raw["samples"]]
        self.insert1({**key, "filtered": filtered, "noise_mad": 1.0})


class MakeSpikeSorting(SpikeSortingMaker):
    def make(self, key: SpikeSortingKey) -> None:
        params = (self.db.SortingParams & key).fetch1()
        threshold = float(params["threshold"])
        units: list[SpikeSortingUnitInsert] = []
        for unit_id in range(params["max_units"]):
            units.append(
                {
                    **key,
                    "unit_id": unit_id,
                    "spike_times": [0.1, 0.2],
                    "waveform": [0.0],
                    "n_spikes": 2,
                    "peak_amplitude": -50.0,
                }
            )
        self.insert1({**key, "n_units": len(units), "n_detected": 2 * len(units), "threshold_uv": threshold})
        self.Unit.insert(units)


class MakeNeuronStats(NeuronStatsMaker):
    def make(self, key: NeuronStatsKey) -> None:
        unit = (self.db.SpikeSorting.Unit & key).fetch1()
        recording = (self.db.Recording & key).fetch1()
        rate = unit["n_spikes"] / recording["duration"]
        self.insert1({**key, "firing_rate": rate, "refractory_violations": 0.0, "snr": 5.0})


class MakeTrialResponse(TrialResponseMaker):
    def make(self, key: TrialResponseKey) -> None:
        trial = (self.db.Session.Trial & key).fetch1()
        window = trial["stop_time"] - trial["start_time"]
        outcome: str = trial["outcome"]
        count = 0 if outcome == "no_response" else 3
        self.insert1({**key, "spike_count": count, "rate": count / window})


def run(url: str) -> None:
    db = lab.connect(url, makers=[MakeRecording, MakeFilteredRecording, MakeSpikeSorting])
    db.NeuronStats.register(MakeNeuronStats)
    db.TrialResponse.register(MakeTrialResponse)
    db.common.Experimenter.insert1({"username": "ada", "full_name": "Ada L."})
    db.Subject.insert1({"subject_id": "m1", "species": "mouse", "sex": "F"})
    db.Subject.insert([{"subject_id": "m2", "species": "rat", "date_of_birth": datetime.date(2024, 1, 2)}])
    subjects: list[lab.SubjectRow] = db.Subject.fetch()
    born: datetime.date | None = subjects[0]["date_of_birth"]
    region: lab.BrainRegionRow = (db.BrainRegion & {"acronym": "CA1"}).fetch1()
    parent: int | None = region["parent_id"]
    print(born, parent, len(db.Session.Trial), db.common.Species.fetch1()["scientific_name"])
    db.populate_all()
