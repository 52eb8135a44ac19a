"""make() implementations of the fractals pipeline.

Written once by `relflow-gen stubs` from examples/fractals/fractals.rf: edit it freely; relflow-gen
never overwrites it.  Scaffolds of tables added later are written as new
modules beside this one; add them to MAKERS yourself.

    import fractals_pipeline
    from fractals_makers import MAKERS

    db = fractals_pipeline.connect("sqlite:///fractals.db", makers=MAKERS)
    db.populate_all()
"""

from __future__ import annotations

from .fractal_image import MakeFractalImage
from .rendering import MakeRendering
from .thumbnail import MakeThumbnail
from .image_stats import MakeImageStats
from .histogram import MakeHistogram
from .box_dimension import MakeBoxDimension

MAKERS = (
    MakeFractalImage,
    MakeRendering,
    MakeThumbnail,
    MakeImageStats,
    MakeHistogram,
    MakeBoxDimension,
)
