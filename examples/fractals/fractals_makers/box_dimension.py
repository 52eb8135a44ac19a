"""make() of fractals.BoxDimension (computed).

Written from a scaffold of `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import BoxDimensionKey, BoxDimensionMaker

from .compute import boundary, box_counts


class MakeBoxDimension(BoxDimensionMaker):
    """Box-counting (Minkowski) dimension of the boundary of the set."""

    def make(self, key: BoxDimensionKey) -> None:
        """Compute the rows of fractals.BoxDimension for one key and insert them.

        ``key`` (BoxDimensionKey):
            fractal_id: int
            resolution: str

        Insert the row with ``self.insert1({**key, ...})`` (BoxDimensionInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            dimension: NotRequired[float | None]  # float64: slope of log N(s) against log(1/s); null when the boundary is empty
            r_squared: NotRequired[float | None]  # float64: goodness of the linear fit

        Insert its Scale parts with ``self.Scale.insert([...])`` (BoxDimensionScaleInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            box_size: int  # uint16: pixels
            n_boxes: int  # uint64

        Read upstream rows through ``self.db``, e.g. ``(self.db.FractalImage & key).fetch1()``.
        """
        import numpy as np

        image = (self.db.FractalImage & key).fetch1()
        max_iter = (self.db.FractalParams & key).fetch1()["max_iter"]
        counts = box_counts(boundary(image["iterations"], max_iter))
        usable = [(s, n) for s, n in counts if n > 0]
        dimension = r_squared = None
        if len(usable) >= 2:
            x = np.log([1.0 / s for s, _ in usable])
            y = np.log([float(n) for _, n in usable])
            slope, intercept = np.polyfit(x, y, 1)
            fit = slope * x + intercept
            ss_res = float(((y - fit) ** 2).sum())
            ss_tot = float(((y - y.mean()) ** 2).sum())
            dimension = float(slope)
            r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
        self.insert1({**key, "dimension": dimension, "r_squared": r_squared})
        self.Scale.insert([{**key, "box_size": s, "n_boxes": n} for s, n in counts])
