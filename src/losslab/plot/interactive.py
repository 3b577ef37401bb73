"""Interactive figures with plotly: the same pictures as `losslab.plot.static`, under the same
names, as `plotly.graph_objects.Figure`s with hover, legends and zoom.

Each function builds a scene (losslab.plot.pictures / build) and draws it with
`losslab.plot.backend_plotly`. Wherever an objective is drawn, a saved `Landscape` may stand in
for it. Nothing is shown or served here; save with
`losslab.plot.export.save_figure(fig, "x.html")` (self-contained, works offline). Traces carry
a `meta` tag saying what they are: "landscape", "path", "start", "end", "diverged", "minimum",
"critical-<kind>", "gradient", "curve", "basins", "loss", "eigen", "point", "legend", ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from losslab.objectives.base import Objective
from losslab.plot import build, pictures
from losslab.plot.backend_plotly import draw
from losslab.plot.scene import Scene


def landscape(
    objective,
    *,
    trajectories=(),
    gradient_field: bool = False,
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int | None = None,
    log: bool | None = None,
) -> go.Figure:
    """`curve_1d` for a 1-parameter objective, `contour` for a 2-parameter one."""
    return draw(
        pictures.landscape(
            objective,
            trajectories=trajectories,
            gradient_field=gradient_field,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution,
            log=log,
            resolution_2d=150,
        )
    )


def contour(
    objective,
    *,
    trajectories=(),
    gradient_field: bool = False,
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 150,
    log: bool | None = None,
) -> go.Figure:
    """Filled contour of a 2-D objective (or Landscape) with paths, minima, critical points
    and optionally the gradient field. Same meaning as `static.contour`."""
    return draw(
        pictures.contour(
            objective,
            trajectories=trajectories,
            gradient_field=gradient_field,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution,
            log=log,
        )
    )


def surface_3d(
    objective,
    *,
    trajectories=(),
    minima: bool = True,
    bounds=None,
    resolution: int = 80,
    log: bool | None = None,
) -> go.Figure:
    """The objective as a 3-D surface with trajectories lifted onto it."""
    return draw(
        pictures.surface(
            objective,
            trajectories=trajectories,
            minima=minima,
            bounds=bounds,
            resolution=resolution,
            log=log,
        )
    )


def curve_1d(
    objective,
    *,
    trajectories=(),
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 400,
) -> go.Figure:
    """f(x) of a 1-D objective with the descent steps on the curve and the final values."""
    return draw(
        pictures.curve(
            objective,
            trajectories=trajectories,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution,
        )
    )


def basin_map(basin_map, *, objective: Objective | None = None) -> go.Figure:
    """Where each start ends: one colour per minimum, grey for 'no known minimum', black for
    'diverged'; the legend gives the share of starts per basin."""
    return draw(pictures.basin_map(basin_map, objective=objective))


def hessian_view(
    point, objective: Objective, *, radius: float | None = None, log: bool = False
) -> go.Figure:
    """The objective around `point` with its Hessian's eigen-directions and a summary box."""
    return draw(pictures.hessian_view(point, objective, radius=radius, log=log))


def loss_curves(trajectories, *, log: bool = True) -> go.Figure:
    """Loss against step, one line per run; a red x where a run diverged."""
    return draw(build.loss_scene(trajectories, log=log))


def race(objective, trajectories, *, bounds=None, log: bool | None = None) -> go.Figure:
    """The paths on the landscape (left) and the loss curves (right); clicking a run in the
    legend hides both its path and its loss curve."""
    return draw(pictures.race(objective, trajectories, bounds=bounds, log=log))


def slice_view(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> go.Figure:
    """A Landscape: 3-D surface and filled contour side by side for two directions, the curve
    (with the accuracy on a second axis) for one."""
    return draw(
        build.slice_view_scene(
            landscape, metric=metric, log=log, trajectory=trajectory, mark=mark, title=title
        )
    )


def slice_contour(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
) -> go.Figure:
    return _one(
        build.slice_contour_panel(
            landscape, metric=metric, log=log, trajectory=trajectory, mark=mark
        ),
        build.CONTOUR_SIZE,
    )


def slice_surface(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
) -> go.Figure:
    return _one(
        build.slice_surface_panel(
            landscape, metric=metric, log=log, trajectory=trajectory, mark=mark
        ),
        build.SURFACE_SIZE,
    )


def slice_curve(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
) -> go.Figure:
    return _one(
        build.slice_curve_panel(
            landscape, metric=metric, log=log, trajectory=trajectory, mark=mark
        ),
        build.CURVE_SIZE,
    )


def spectrum(result, *, log: bool = True, nodes: bool = True, title: str | None = None):
    """A Spectrum: density against eigenvalue (log density), the Lanczos nodes as ticks."""
    return draw(build.spectrum_scene(result, log=log, nodes=nodes, title=title))


def _one(panel, size) -> go.Figure:
    return draw(Scene((panel,), size=size))
