"""make() of fractals.ImageStats (computed).

Written from a scaffold of `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import ImageStatsKey, ImageStatsMaker

from .compute import boundary, entropy


class MakeImageStats(ImageStatsMaker):
    """Summary statistics of the iteration counts."""

    def make(self, key: ImageStatsKey) -> None:
        """Compute the rows of fractals.ImageStats for one key and insert them.

        ``key`` (ImageStatsKey):
            fractal_id: int
            resolution: str

        Insert the row with ``self.insert1({**key, ...})`` (ImageStatsInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            mean_escape: NotRequired[float | None]  # float64: mean iteration count of the escaping pixels; null if none escapes
            median_escape: NotRequired[float | None]  # float64
            max_escape: NotRequired[int | None]  # uint16: the largest iteration count below max_iter
            entropy: float  # float64: Shannon entropy of the iteration counts, bits
            boundary_fraction: float  # float64: fraction of pixels with an inside and an outside neighbour

        Read upstream rows through ``self.db``, e.g. ``(self.db.FractalImage & key).fetch1()``.
        """
        import numpy as np

        image = (self.db.FractalImage & key).fetch1()
        max_iter = (self.db.FractalParams & key).fetch1()["max_iter"]
        its = image["iterations"]
        escaping = its[its < max_iter]
        edge = boundary(its, max_iter)
        self.insert1(
            {
                **key,
                "mean_escape": float(escaping.mean()) if escaping.size else None,
                "median_escape": float(np.median(escaping)) if escaping.size else None,
                "max_escape": int(escaping.max()) if escaping.size else None,
                "entropy": entropy(its),
                "boundary_fraction": float(edge.mean()),
            }
        )
