"""Pictures of losslab results: one scene model, two thin backends.

- `scene`: what a picture holds, as plain frozen data (fields, paths, markers, arrows, text,
  panels), with the one colour transform (`ColourScale`) and the one interpolation rule.
- `style`: the one style table (colours, marker sizes, line widths, colour maps).
- `build`: results -> scenes; `pictures`: objectives or results -> scenes, computing through
  the library first, so a saved Landscape draws without the code that made it.
- `backend_mpl`, `backend_plotly`: draw any scene.
- `static` (matplotlib) and `interactive` (plotly): the same pictures under the same names
  (landscape, contour, surface_3d, curve_1d, basin_map, hessian_view, loss_curves, race,
  slice_view, slice_contour, slice_surface, slice_curve, spectrum); `export.save_figure`
  writes either by extension.

Submodules load on first use, so importing `losslab.plot` alone imports neither matplotlib
nor plotly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from losslab.plot import (
        backend_mpl,
        backend_plotly,
        build,
        export,
        interactive,
        pictures,
        scene,
        static,
        style,
    )

__all__ = [
    "backend_mpl",
    "backend_plotly",
    "build",
    "export",
    "interactive",
    "pictures",
    "scene",
    "static",
    "style",
]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"losslab.plot.{name}")
    raise AttributeError(f"module 'losslab.plot' has no attribute {name!r}")
