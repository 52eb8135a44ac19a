"""Wall time of ``relflow-gen build`` on synthetic schemas of 100 ... 500 tables.

Run:  python bench/bench_build.py [--sizes 100,200,300,400,500] [--repeat N] [--keep DIR] [--clock wall|cpu]

Each schema is a DAG like a real pipeline: lookup tables with contents, manual
tables (some with parts), imported tables keyed by a manual table, chains of
computed tables (some with parts), secondary and renamed references; parts
count as tables.  For every size the script prints the median wall time of the
whole ``relflow-gen build`` command (in-process: configuration, front end,
emitter, writing), of ``relflow-gen check`` on the same schema (configuration
and front end: the floor a build is measured against), of ``build --check``
and of the stages; ``ratio`` is build / check (target: at most 2).  The
``p_`` columns run ``check`` and ``build`` as fresh processes, as a user does.
``--clock cpu`` measures CPU time instead of wall time (steadier on a loaded machine).

This is a script, not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from relflow_gen.cli.main import main
from relflow_gen.compiler.frontend import compile_file, read_file
from relflow_gen.emit.package import EmitOptions, emit
from relflow_gen.emit.write import apply, plan


def synthetic_schema(n_tables: int, seed: int = 1) -> str:
    """A valid `.rf` schema with ``n_tables`` tables (parts included)."""
    rng = random.Random(seed)
    lines = ['schema synth "A synthetic pipeline for benchmarks"', ""]
    lookups: list[str] = []
    manuals: list[str] = []
    autos: list[tuple[str, int]] = []  # (name, depth)
    count = 0

    def block(tier: str, name: str, body: list[str], doc: str = "") -> None:
        title = f'{tier} {name} "{doc}" {{' if doc else f"{tier} {name} {{"
        lines.extend([title, *("    " + b for b in body), "}", ""])

    while count < n_tables:
        i = count
        kind = rng.random()
        if kind < 0.1 or not lookups:
            name = f"Param{i}"
            body = [f"param{i}: int32", "---", f"value{i} = 1.5: float64", f'label{i}: varchar(32)', "contents {"]
            body += [f'    ({k}, {k}.5, "p{k}")' for k in range(3)] + ["}"]
            block("lookup", name, body, f"Parameters {i}")
            lookups.append(name)
            count += 1
        elif kind < 0.35 or not manuals:
            name = f"Entity{i}"
            body = [f"entity{i}: int32", "---", f'notes{i} = "": varchar(255)', f"when{i} = null: date"]
            body.append(f"-> {rng.choice(lookups)}")
            if manuals and rng.random() < 0.3:
                other = rng.choice(manuals)
                body.append(f"-> [nullable] {other}.proj(ref{i}=\"{other.lower().replace('entity', 'entity')}\")")
            count += 1
            if rng.random() < 0.3 and count < n_tables:
                body += [f"part Item{i} {{", f"    item{i}: int16", "    ---", f"    weight{i}: float32", "}"]
                count += 1
            block("manual", name, body)
            manuals.append(name)
        elif kind < 0.55:
            name = f"Acquired{i}"
            body = [f"-> {rng.choice(manuals)}", "---", f"raw{i}: blob", f"rate{i}: float64", f"file{i}: varchar(255)"]
            block("imported", name, body, f"Imported data {i}")
            autos.append((name, 1))
            count += 1
        else:
            candidates = [a for a in autos if a[1] < 5] or [(rng.choice(manuals), 0)]
            parent, depth = rng.choice(candidates)
            name = f"Result{i}"
            body = [f"-> {parent}", f"-> {rng.choice(lookups)}", "---", f"score{i}: float64", f"data{i} = null: blob"]
            count += 1
            if rng.random() < 0.25 and count < n_tables:
                body += [f"part Piece{i} {{", f"    piece{i}: int32", "    ---", f"    amount{i}: decimal(10, 2)", "}"]
                count += 1
            block("computed", name, body, f"Computed result {i}")
            autos.append((name, depth + 1))
    return "\n".join(lines)


#: "wall" or "cpu" (process time: what a loaded machine inflates less); set by --clock
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = clock()
        value = fn()
        times.append(value if isinstance(value, float) else clock() - start)
    return statistics.median(times)


def bench(n_tables: int, repeat: int, keep: Path | None) -> dict[str, float | int]:
    work = Path(tempfile.mkdtemp(prefix=f"relflow-bench-{n_tables}-", dir=keep))
    (work / "synth.rf").write_text(synthetic_schema(n_tables), encoding="utf-8")
    (work / "pyproject.toml").write_text(
        '[tool.relflow-gen]\nschema = "synth.rf"\noutput = "out"\nsvg = false\n', encoding="utf-8"
    )
    reader: Callable[[str], str | None] = lambda p: read_file(str(work / p))  # noqa: E731
    comp = compile_file("synth.rf", reader)
    if not comp.ok or comp.project is None:
        raise SystemExit("synthetic schema does not compile:\n" + "\n".join(d.message for d in comp.diagnostics[:10]))
    project = comp.project
    options = EmitOptions("synth_pipeline", "synth.rf")
    files = emit(project, options)
    writes = iter(range(1_000_000))

    def fresh_write() -> None:
        out = work / f"write{next(writes)}" / "synth_pipeline"
        apply(plan(files, out), out)

    def cli_build() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["build", "--config", str(work / "pyproject.toml")])
        assert code == 0

    def cli_build_check() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["build", "--check", "--config", str(work / "pyproject.toml")])
        assert code == 0

    def cli_check() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["check", str(work / "synth.rf")])
        assert code == 0

    result: dict[str, float | int] = {
        "tables": len(project.tables()),
        "rf_lines": comp.sources["synth.rf"].count("\n"),
        "py_lines": sum(files[p].count("\n") for p in files if p.endswith(".py")),
        "compile": median_time(lambda: compile_file("synth.rf", reader), repeat),
        "emit": median_time(lambda: emit(project, options), repeat),
        "write": median_time(fresh_write, repeat),
        "check": median_time(cli_check, repeat),
        "build": median_time(cli_build, repeat),
        "b_check": median_time(cli_build_check, repeat),
    }
    result["ratio"] = result["build"] / result["check"]
    exe = str(Path(sys.executable).with_name("relflow-gen"))
    result["p_check"] = median_time(lambda: _process([exe, "check", "synth.rf"], work), repeat)
    result["p_build"] = median_time(lambda: _process([exe, "build"], work), repeat)
    result["p_ratio"] = result["p_build"] / result["p_check"]
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _process(argv: list[str], cwd: Path) -> float:
    """Run a command in a fresh process; its wall or CPU time (the clock chosen), not this process's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu if clock is time.process_time else wall


def main_(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100,200,300,400,500")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated projects under this directory")
    parser.add_argument("--clock", choices=sorted(CLOCK), default="wall", help="wall time (default) or CPU time")
    args = parser.parse_args(argv)
    global clock
    clock = CLOCK[args.clock]
    columns = ["tables", "py_lines", "compile", "emit", "check", "build", "b_check", "ratio", "p_check", "p_build", "p_ratio"]
    print(" ".join(f"{c:>9s}" for c in columns))
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench(size, args.repeat, args.keep)
        cells = [
            f"{r[c]:9d}" if isinstance(r[c], int) else f"{r[c]:8.2f}x" if c.endswith("ratio") else f"{r[c]:8.3f}s"
            for c in columns
        ]
        print(" ".join(cells), flush=True)
    print("check = `relflow-gen check` (front end); build = `relflow-gen build` (front end + emit + write);", file=sys.stderr)
    print("b_check = `relflow-gen build --check`; ratio = build / check (all in this process);", file=sys.stderr)
    print("p_check, p_build: the same commands as fresh processes (start-up and imports included).", file=sys.stderr)


if __name__ == "__main__":
    main_()
