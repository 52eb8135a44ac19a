"""make() of fractals.Rendering (computed).

Written from a scaffold of `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely;
relflow-gen never overwrites it.
"""

from __future__ import annotations

from fractals_pipeline import RenderingKey, RenderingMaker

from .compute import png, render


class MakeRendering(RenderingMaker):
    """A colour image of a fractal image."""

    def make(self, key: RenderingKey) -> None:
        """Compute the rows of fractals.Rendering for one key and insert them.

        ``key`` (RenderingKey):
            fractal_id: int
            resolution: str
            colormap: str

        Insert the row with ``self.insert1({**key, ...})`` (RenderingInsert):
            fractal_id: int  # uint32
            resolution: str  # varchar(8)
            colormap: str  # varchar(16)
            rgb: Any  # blob: (height, width, 3) uint8
            png: bytes  # bytes: the same image, PNG-encoded

        Read upstream rows through ``self.db``, e.g. ``self.db.FractalImage.restrict(key, ignore_extra_fields=True).fetch1()``.
        """
        image = (self.db.FractalImage & key).fetch1()
        cmap = (self.db.ColorMap & key).fetch1()
        rgb = render(image["smooth"], cmap["colormap"], cmap["cyclic"])
        self.insert1({**key, "rgb": rgb, "png": png(rgb)})
