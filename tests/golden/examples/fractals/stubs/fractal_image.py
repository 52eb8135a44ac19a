"""make() of fractals.FractalImage (computed).

A scaffold written once by `relflow-gen stubs` from fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import FractalImageKey, FractalImageMaker


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

        Read upstream rows through ``self.db``, e.g. ``(self.db.FractalParams & key).fetch1()``.
        """
        raise NotImplementedError("make() of fractals.FractalImage is not written yet")
