"""make() implementations with mistakes: each marked line must fail with the error code given."""

from __future__ import annotations

import lab_pipeline as lab
from lab_pipeline import (
    FilteredRecordingKey,
    FilteredRecordingMaker,
    RecordingKey,
    RecordingMaker,
    SpikeSortingInsert,
    SpikeSortingKey,
    SpikeSortingMaker,
    SpikeSortingUnitInsert,
)


class WrongKeyType(RecordingMaker):
    def make(self, key: lab.SessionTrialKey) -> None:  # E: override
        pass


class ReadsAFieldTheKeyLacks(FilteredRecordingMaker):
    def make(self, key: FilteredRecordingKey) -> None:
        print(key["sorting_id"])  # E: typeddict-item


class WrongValueType(RecordingMaker):
    def make(self, key: RecordingKey) -> None:
        self.insert1(
            {
                **key,
                "recording_file": 42,  # E: typeddict-item
                "sampling_rate": 30000.0,
                "samples": [],
                "duration": 1.0,
            }
        )


class MissingRequiredField(RecordingMaker):
    def make(self, key: RecordingKey) -> None:
        self.insert1({**key, "recording_file": "f.dat", "samples": [], "duration": 1.0})  # E: typeddict-item


class MisspelledField(RecordingMaker):
    def make(self, key: RecordingKey) -> None:
        self.insert1(
            {  # E: typeddict-unknown-key
                **key,
                "recording_fle": "f.dat",
                "recording_file": "f.dat",
                "sampling_rate": 1.0,
                "samples": [],
                "duration": 1.0,
            }
        )


class PartRowIntoTheMaster(SpikeSortingMaker):
    def make(self, key: SpikeSortingKey) -> None:
        unit: SpikeSortingUnitInsert = {
            **key,
            "unit_id": 1,
            "spike_times": [],
            "waveform": [],
            "n_spikes": 0,
            "peak_amplitude": 0.0,
        }
        self.insert1(unit)  # E: arg-type


class MasterRowIntoAPart(SpikeSortingMaker):
    def make(self, key: SpikeSortingKey) -> None:
        row: SpikeSortingInsert = {**key, "n_units": 0, "n_detected": 0, "threshold_uv": 1.0}
        self.insert1(row)
        self.Unit.insert([row])  # E: list-item


class MasterRowIntoAPartOne(SpikeSortingMaker):
    def make(self, key: SpikeSortingKey) -> None:
        row: SpikeSortingInsert = {**key, "n_units": 0, "n_detected": 0, "threshold_uv": 1.0}
        self.Unit.insert1(row)  # E: arg-type


class PartFieldMissing(SpikeSortingMaker):
    def make(self, key: SpikeSortingKey) -> None:
        self.insert1({**key, "n_units": 1, "n_detected": 1, "threshold_uv": 1.0})
        self.Unit.insert1({**key, "unit_id": 1, "spike_times": [], "waveform": [], "n_spikes": 1})  # E: typeddict-item


class NoMake(RecordingMaker):
    pass


def register(db: lab.LabPipeline) -> None:
    db.Recording.register(WrongValueType)
    db.FilteredRecording.register(WrongValueType)  # E: arg-type
    db.Recording.register(NoMake)  # E: type-abstract
