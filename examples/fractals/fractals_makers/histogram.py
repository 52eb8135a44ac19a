"""make() of fractals.Histogram (computed).

Written from a scaffold of `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely;
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

        Read upstream rows through ``self.db``, e.g. ``self.db.FractalImage.restrict(key, ignore_extra_fields=True).fetch1()``.
        """
        import numpy as np

        image = (self.db.FractalImage & key).fetch1()
        spec = (self.db.HistogramSpec & key).fetch1()
        max_iter = (self.db.FractalParams & key).fetch1()["max_iter"]
        escaping = image["iterations"][image["iterations"] < max_iter].astype(np.float64)
        lo, hi = 0.0, float(max_iter)
        if spec["log_counts"]:
            edges = np.geomspace(1.0, hi + 1, spec["n_bins"] + 1) - 1.0
        else:
            edges = np.linspace(lo, hi, spec["n_bins"] + 1)
        counts, _ = np.histogram(escaping, bins=edges)
        self.insert1({**key, "edges": edges, "counts": counts.astype(np.uint64)})
