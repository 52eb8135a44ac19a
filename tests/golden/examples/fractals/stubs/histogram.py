"""make() of fractals.Histogram (computed).

A scaffold written once by `relflow-gen stubs` from fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import HistogramKey, HistogramMaker


class MakeHistogram(HistogramMaker):
    """Histogram of the iteration counts of the escaping pixels."""

    def make(self, key: HistogramKey) -> None:
        """Compute the rows of fractals.Histogram for one key and insert them.

        ``key`` (HistogramKey):
            fractal_id: int
            resolution: str
            histogram_id: int

        Insert the row with ``self.insert1({**key, ...})`` (HistogramInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            histogram_id: int  # uint8
            edges: Any  # blob: (n_bins + 1,) float64 bin edges
            counts: Any  # blob: (n_bins,) uint64

        Read upstream rows through ``self.db``, e.g. ``(self.db.FractalImage & key).fetch1()``.
        """
        raise NotImplementedError("make() of fractals.Histogram is not written yet")
