"""The lab and fractals examples run end to end from the command line.

For each backend (SQLite file, throwaway MariaDB): build the example into a
package, enter the manual data, run `python -m <package> populate --workers 2`
with the example's makers, and check that every imported/computed table is
complete and holds what the makers compute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relflow_gen.cli.main import main as relflow_gen

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _env(*paths: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), env.get("PYTHONPATH", "")])
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def _build(example: str, package: str, out: Path) -> None:
    code = relflow_gen(["build", str(EXAMPLES / example / f"{example}.rf"), "--out", str(out), "--package", package, "--no-svg"])
    assert code == 0


def test_lab_end_to_end(db_url: str, tmp_path: Path) -> None:
    _build("lab", "lab_pipeline", tmp_path)
    env = _env(tmp_path, EXAMPLES / "lab")
    _run([str(EXAMPLES / "lab" / "enter_data.py"), db_url], env, tmp_path)
    out = _run(["-m", "lab_pipeline", "--db", db_url, "--makers", "lab_makers", "populate", "--workers", "2"], env, tmp_path)
    assert "0 failed" in out
    status = _run(["-m", "lab_pipeline", "--db", db_url, "--makers", "lab_makers", "status"], env, tmp_path)
    rows = {line.split()[0]: line.split()[1:] for line in status.splitlines() if line.startswith(("lab.", "common."))}
    # 4 sessions -> 4 recordings x 4 filters x 2 sorters; every auto table complete
    assert rows["lab.Recording"][1:3] == ["4", "0"]
    assert rows["lab.FilteredRecording"][1:3] == ["16", "0"]
    assert rows["lab.SpikeSorting"][1:3] == ["32", "0"]
    units = int(rows["lab.SpikeSorting.Unit"][1])
    assert units >= 32
    assert rows["lab.NeuronStats"][1:3] == [str(units), "0"]
    assert rows["lab.TrialResponse"][2] == "0"
    report = _run([str(EXAMPLES / "lab" / "report.py"), db_url], env, tmp_path)
    assert "sessions with more than 5 trials: 4" in report
    assert "regions directly under HPF: HIP" in report


def test_fractals_end_to_end(db_url: str, tmp_path: Path) -> None:
    _build("fractals", "fractals_pipeline", tmp_path)
    env = _env(tmp_path, EXAMPLES / "fractals")
    _run([str(EXAMPLES / "fractals" / "enter_data.py"), db_url, "32"], env, tmp_path)
    out = _run(
        ["-m", "fractals_pipeline", "--db", db_url, "--makers", "fractals_makers", "populate", "--workers", "2"],
        env,
        tmp_path,
    )
    assert "0 failed" in out
    sys.path[:0] = [str(tmp_path), str(EXAMPLES / "fractals")]
    try:
        import fractals_pipeline as fp  # type: ignore[import-not-found]

        db = fp.connect(db_url, declare=False)
        views, resolutions, colormaps, specs = 3, 3, 4, 3
        assert len(db.FractalImage) == views * resolutions
        assert len(db.Rendering) == views * resolutions * colormaps
        assert len(db.Thumbnail) == len(db.Rendering)
        assert len(db.Histogram) == views * resolutions * specs
        assert len(db.BoxDimension) == views * resolutions
        png = (db.Rendering & {"fractal_id": 1, "resolution": "small", "colormap": "gray"}).fetch1()["png"]
        assert png.startswith(b"\x89PNG")
        image = (db.FractalImage & {"fractal_id": 1, "resolution": "small"}).fetch1()
        assert image["iterations"].shape == (240, 320)
        dims = [d for d in db.BoxDimension.column("dimension") if d is not None]
        assert dims and all(1.0 < d < 2.0 for d in dims)
        db.close()
    finally:
        for name in [m for m in sys.modules if m.startswith(("fractals_pipeline", "fractals_makers"))]:
            del sys.modules[name]
        del sys.path[:2]


@pytest.mark.parametrize("example", ["lab", "fractals"])
def test_example_makers_pass_mypy_strict(example: str, tmp_path: Path) -> None:
    """The example make() implementations and scripts type-check against the generated package."""
    _build(example, f"{example}_pipeline", tmp_path)
    folder = EXAMPLES / example
    targets = [str(folder / f"{example}_makers"), str(folder / "enter_data.py")]
    if (folder / "report.py").exists():
        targets.append(str(folder / "report.py"))
    env = dict(os.environ)
    env["MYPYPATH"] = os.pathsep.join([str(tmp_path), str(ROOT), str(folder)])
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy"), *targets],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
