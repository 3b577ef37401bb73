"""Static figures with matplotlib: contours, 3-D surfaces, 1-D curves, basin maps, the Hessian
at a point, loss curves, the optimizer race, slices of a network's landscape and the Hessian's
spectrum (the functions of `losslab.plot.pictures`, each with its docstring there).

Each function builds the scene (results -> scene) and draws it with `losslab.plot.backend_mpl`.
Every function takes `ax=None` (a new Figure and Axes when None) and returns the Axes it drew
on, scikit-learn style; `race` and `slice_view` return their Figure. Wherever an objective is
drawn, a saved `Landscape` may stand in for it. pyplot is never imported; nothing is shown.
Save with `losslab.plot.export.save_figure(ax.figure, path)`.

Artists carry gids "losslab-<name>": "losslab-path", "losslab-start", "losslab-end",
"losslab-diverged", "losslab-minimum", "losslab-critical-<kind>", "losslab-gradient",
"losslab-steps", "losslab-loss", "losslab-eigen", "losslab-landscape", "losslab-origin", ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.errors import LosslabError
from losslab.plot import pictures
from losslab.plot.backend_mpl import draw, draw_panel, new_axes
from losslab.plot.scene import Scene

__all__ = list(pictures.PICTURES)
FIGURES = (
    "race",
    "slice_view",
    "path_profile",
    "width_curves",
)  # several panels: a whole Figure, no `ax`


def on_axes(scene: Scene, ax: Axes | None = None, what: str = "this picture") -> Axes:
    """Draw a one-panel scene into `ax` (a new Figure of the scene's size when None)."""
    if ax is None:
        ax = new_axes(scene)
    elif scene.panel.kind == "surface" and ax.name != "3d":
        raise LosslabError(
            f"{what} needs a 3-D Axes: create it with "
            "figure.add_subplot(projection='3d'), or pass ax=None."
        )
    draw_panel(scene.panel, ax)
    if scene.title:
        ax.set_title(scene.title)
    return ax


def _matplotlib(name: str) -> Callable:
    """pictures.<name> drawn with matplotlib: the same arguments, plus `ax=None` for the
    one-panel pictures."""
    if name in FIGURES:
        return pictures.drawn(name, draw, Figure)
    make = getattr(pictures, name)

    @functools.wraps(make)
    def axes(*args, ax: Axes | None = None, **kwargs) -> Axes:
        return on_axes(make(*args, **kwargs), ax, name)

    signature = inspect.signature(make)
    extra = inspect.Parameter("ax", inspect.Parameter.KEYWORD_ONLY, default=None)
    axes.__signature__ = signature.replace(
        parameters=[*signature.parameters.values(), extra], return_annotation=Axes
    )
    return axes


view = _matplotlib("view")
contour = _matplotlib("contour")
surface_3d = _matplotlib("surface_3d")
curve_1d = _matplotlib("curve_1d")
basin_map = _matplotlib("basin_map")
hessian_view = _matplotlib("hessian_view")
loss_curves = _matplotlib("loss_curves")
race = _matplotlib("race")
slice_view = _matplotlib("slice_view")
slice_contour = _matplotlib("slice_contour")
slice_surface = _matplotlib("slice_surface")
slice_curve = _matplotlib("slice_curve")
spectrum = _matplotlib("spectrum")
path_profile = _matplotlib("path_profile")
bezier_plane = _matplotlib("bezier_plane")
width_curves = _matplotlib("width_curves")
