"""make() of fractals.BoxDimension (computed).

A scaffold written once by `relflow-gen stubs` from fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import BoxDimensionKey, BoxDimensionMaker


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
        raise NotImplementedError("make() of fractals.BoxDimension is not written yet")
