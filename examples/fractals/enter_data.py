"""Enter views to render: the only manual step of the fractals pipeline.

    python enter_data.py sqlite:///fractals.db [max_iter]
"""

from __future__ import annotations

import sys

import fractals_pipeline as fp


def main(url: str, max_iter: int = 128) -> None:
    db = fp.connect(url)
    views: list[fp.FractalParamsInsert] = [
        {
            "fractal_id": 1,
            "kind": "mandelbrot",
            "center_re": -0.5,
            "center_im": 0.0,
            "view_width": 3.0,
            "max_iter": max_iter,
            "title": "the whole Mandelbrot set",
        },
        {
            "fractal_id": 2,
            "kind": "julia",
            "center_re": 0.0,
            "center_im": 0.0,
            "view_width": 3.2,
            "c_re": -0.8,
            "c_im": 0.156,
            "max_iter": max_iter,
            "title": "a dendrite-like Julia set",
        },
        {
            "fractal_id": 3,
            "kind": "burning_ship",
            "center_re": -0.45,
            "center_im": -0.5,
            "view_width": 3.5,
            "max_iter": max_iter,
            "title": "the Burning Ship",
        },
    ]
    db.FractalParams.insert(views, skip_duplicates=True)
    print(f"entered {len(db.FractalParams)} views")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///fractals.db", int(sys.argv[2]) if len(sys.argv) > 2 else 128)
