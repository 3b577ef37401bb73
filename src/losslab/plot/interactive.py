"""Interactive figures with plotly: the same pictures as `losslab.plot.static`, under the same
names and arguments (the functions of `losslab.plot.pictures`, each with its docstring there),
as `plotly.graph_objects.Figure`s with hover, legends and zoom.

Each function builds the scene (results -> scene) and draws it with
`losslab.plot.backend_plotly`. Wherever an objective is drawn, a saved `Landscape` may stand in
for it. Nothing is shown or served; save with `losslab.plot.export.save_figure(fig, "x.html")`
(self-contained, works offline). Traces carry a `meta` tag saying what they are: "landscape",
"path", "start", "end", "diverged", "minimum", "critical-<kind>", "gradient", "curve",
"basins", "loss", "eigen", "point", "legend", ...
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from losslab.plot import pictures
from losslab.plot.backend_plotly import draw

__all__ = list(pictures.PICTURES)


def _plotly(name: str) -> Callable:
    """pictures.<name> drawn with plotly, with the same arguments."""
    return pictures.drawn(name, draw, go.Figure)


view = _plotly("view")
contour = _plotly("contour")
surface_3d = _plotly("surface_3d")
curve_1d = _plotly("curve_1d")
basin_map = _plotly("basin_map")
hessian_view = _plotly("hessian_view")
loss_curves = _plotly("loss_curves")
race = _plotly("race")
slice_view = _plotly("slice_view")
slice_contour = _plotly("slice_contour")
slice_surface = _plotly("slice_surface")
slice_curve = _plotly("slice_curve")
spectrum = _plotly("spectrum")
path_profile = _plotly("path_profile")
bezier_plane = _plotly("bezier_plane")
width_curves = _plotly("width_curves")
