"""make() of fractals.Thumbnail (computed).

Written from a scaffold of `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import ThumbnailKey, ThumbnailMaker

from .compute import block_average


class MakeThumbnail(ThumbnailMaker):
    """A small preview of a rendering."""

    def make(self, key: ThumbnailKey) -> None:
        """Compute the rows of fractals.Thumbnail for one key and insert them.

        ``key`` (ThumbnailKey):
            fractal_id: int
            resolution: str
            colormap: str

        Insert the row with ``self.insert1({**key, ...})`` (ThumbnailInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            colormap: str  # varchar(16)
            thumbnail: Any  # blob: (64, w, 3) uint8, block-averaged; w keeps the aspect ratio

        Read upstream rows through ``self.db``, e.g. ``(self.db.Rendering & key).fetch1()``.
        """
        rendering = (self.db.Rendering & key).fetch1()
        self.insert1({**key, "thumbnail": block_average(rendering["rgb"], 64)})
