"""make() of fractals.FractalImage (computed).

Written from a scaffold of `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import FractalImageKey, FractalImageMaker

from .compute import escape_time


class MakeFractalImage(FractalImageMaker):
    """Escape-time iteration counts of a view at one resolution."""

    def make(self, key: FractalImageKey) -> None:
        """Compute the rows of fractals.FractalImage for one key and insert them.

        ``key`` (FractalImageKey):
            fractal_id: int
            resolution: str

        Insert the row with ``self.insert1({**key, ...})`` (FractalImageInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            iterations: Any  # blob: (height, width) uint16: iteration at which the orbit escaped; max_iter if it never did
            smooth: Any  # blob: (height, width) float32: continuous (normalised) iteration count, NaN inside the set
            inside_fraction: float  # float64: fraction of pixels inside the set
            compute_seconds: float  # float32: wall-clock time of the computation

        Read upstream rows through ``self.db``, e.g. ``self.db.FractalParams.restrict(key, ignore_extra_fields=True).fetch1()``.
        """
        import time

        view = (self.db.FractalParams & key).fetch1()
        res = (self.db.Resolution & key).fetch1()
        started = time.perf_counter()
        c = complex(view["c_re"] or 0.0, view["c_im"] or 0.0) if view["kind"] == "julia" else None
        iterations, smooth = escape_time(
            view["kind"],
            complex(view["center_re"], view["center_im"]),
            view["view_width"],
            (res["width_px"], res["height_px"]),
            c=c,
            exponent=view["exponent"],
            max_iter=view["max_iter"],
            escape_radius=view["escape_radius"],
        )
        self.insert1(
            {
                **key,
                "iterations": iterations,
                "smooth": smooth,
                "inside_fraction": float((iterations >= view["max_iter"]).mean()),
                "compute_seconds": time.perf_counter() - started,
            }
        )
