#!/usr/bin/env bash
# The main job: build the research-lab example into a typed package and run it on SQLite.
#
#   bash scripts/demo.sh
#
# Makes the project's virtual environment (.venv) and installs relflow-gen into it,
# compiles examples/lab/lab.rf into demo/lab_pipeline, declares the tables in demo/lab.db
# (no server needed), enters subjects, sessions and trials, populates every
# imported/computed table with the example's make() implementations (2 worker
# processes), prints the status of every table and answers a few questions with the
# query algebra.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/venv.sh
relflow_venv ""

out=demo
rm -rf "$out"
mkdir -p "$out"
relflow-gen check examples/lab/lab.rf
relflow-gen build examples/lab/lab.rf --out "$out" --package lab_pipeline

export PYTHONPATH="$PWD/$out:$PWD/examples/lab${PYTHONPATH:+:$PYTHONPATH}"
db="sqlite:///$out/lab.db"
python -m lab_pipeline --db "$db" declare
python examples/lab/enter_data.py "$db"
python -m lab_pipeline --db "$db" --makers lab_makers populate --workers 2
python -m lab_pipeline --db "$db" --makers lab_makers status
python examples/lab/report.py "$db"

cat <<NEXT

Next, in this shell:
  source .venv/bin/activate && export PYTHONPATH=$out:examples/lab
  python -m lab_pipeline --db $db status            # what is done, pending, in error
  python -m lab_pipeline diagram --svg -o $out/lab.svg   # the diagram, drawn by Graphviz (else Mermaid text)
NEXT
