#!/usr/bin/env bash
# The main job: build the research-lab example into a typed package and run it on SQLite.
#
#   bash scripts/demo.sh
#
# Installs relflow-gen, compiles examples/lab/lab.rf into demo/lab_pipeline,
# declares the tables in demo/lab.db (no server needed), enters subjects,
# sessions and trials, populates every imported/computed table with the
# example's make() implementations (2 worker processes), prints the status of
# every table and answers a few questions with the query algebra.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --disable-pip-version-check -e . --config-settings editable_mode=compat

out=demo
rm -rf "$out"
mkdir -p "$out"
relflow-gen check examples/lab/lab.rf
relflow-gen build examples/lab/lab.rf --out "$out" --package lab_pipeline

export PYTHONPATH="$PWD/$out:$PWD/examples/lab${PYTHONPATH:+:$PYTHONPATH}"
db="sqlite:///$out/lab.db"
python3 -m lab_pipeline --db "$db" declare
python3 examples/lab/enter_data.py "$db"
python3 -m lab_pipeline --db "$db" --makers lab_makers populate --workers 2
python3 -m lab_pipeline --db "$db" --makers lab_makers status
python3 examples/lab/report.py "$db"
echo "diagram of the pipeline: $out/lab_pipeline/diagram.svg"
