"""Static figures with matplotlib: contours, 3-D surfaces, 1-D curves, basin maps, the Hessian
at a point, loss curves, the optimizer race, slices of a network's landscape and the Hessian's
spectrum.

Each function builds a scene (losslab.plot.pictures / build) and draws it with
`losslab.plot.backend_mpl`. Every function takes `ax=None` (a new Figure and Axes when None) and
returns the Axes it drew on, scikit-learn style; `race` and `slice_view` return their Figure.
Wherever an objective is drawn, a saved `Landscape` may stand in for it. pyplot is never
imported; nothing is shown. Save with `losslab.plot.export.save_figure(ax.figure, path)`.

Artists carry gids "losslab-<name>": "losslab-path", "losslab-start", "losslab-end",
"losslab-diverged", "losslab-minimum", "losslab-critical-<kind>", "losslab-gradient",
"losslab-steps", "losslab-loss", "losslab-eigen", "losslab-landscape", "losslab-origin", ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import build, pictures
from losslab.plot.backend_mpl import draw, draw_panel, new_axes
from losslab.plot.scene import Scene


def _on(scene: Scene, ax: Axes | None, what: str = "") -> Axes:
    """Draw a one-panel scene into `ax` (a new Figure when None)."""
    if ax is None:
        ax = new_axes(scene)
    elif scene.panel.kind == "surface" and getattr(ax, "name", "") != "3d":
        raise LosslabError(
            f"{what} needs a 3-D Axes: create it with "
            "figure.add_subplot(projection='3d'), or pass ax=None."
        )
    draw_panel(scene.panel, ax)
    if scene.title:
        ax.set_title(scene.title)
    return ax


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
    ax: Axes | None = None,
) -> Axes:
    """The natural picture of an objective (or Landscape): `curve_1d` for 1 parameter,
    `contour` for 2. gradient_field and log apply to 2-D objectives only."""
    return _on(
        pictures.landscape(
            objective,
            trajectories=trajectories,
            gradient_field=gradient_field,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution,
            log=log,
        ),
        ax,
    )


def contour(
    objective,
    *,
    trajectories=(),
    gradient_field: bool = False,
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 200,
    log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Filled contour of a 2-D objective (or Landscape) over its window, with a colour bar.

    trajectories: a Trajectory (batched or not) or a list of them, drawn as paths with a circle
        at the start and a star at the end (a red x where a run diverged).
    gradient_field: arrows of the gradient direction (uphill, perpendicular to the contour
        lines) on a 20x20 grid. minima: mark the known minima. critical_points: CriticalPoints
        marked by kind. log: None follows objective.log_scale.
    The view stays on the window: paths that leave it are clipped, never rescale the axes.
    """
    return _on(
        pictures.contour(
            objective,
            trajectories=trajectories,
            gradient_field=gradient_field,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution,
            log=log,
        ),
        ax,
    )


def surface_3d(
    objective,
    *,
    trajectories=(),
    minima: bool = True,
    bounds=None,
    resolution: int = 100,
    log: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The objective as a 3-D surface (height = loss, or its log10 when log), with
    trajectories lifted onto it (z = their loss). `ax` must be a 3-D Axes when given."""
    scene = pictures.surface(
        objective,
        trajectories=trajectories,
        minima=minima,
        bounds=bounds,
        resolution=resolution,
        log=log,
    )
    return _on(scene, ax, "surface_3d")


def curve_1d(
    objective,
    *,
    trajectories=(),
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 400,
    ax: Axes | None = None,
) -> Axes:
    """f(x) of a 1-D objective over its window with the descent steps on the curve; the dots
    fade from pale (first step) to the run's colour (last step). A box per run gives the final
    x, f(x), f'(x) and the number of steps."""
    return _on(
        pictures.curve(
            objective,
            trajectories=trajectories,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution,
        ),
        ax,
    )


def basin_map(basin_map, *, objective: Objective | None = None, ax: Axes | None = None) -> Axes:
    """Where each start ends: one colour per minimum, grey for 'no known minimum', black for
    'diverged'; the legend gives the share of starts per basin. With `objective`, faint contour
    lines of it on top."""
    return _on(pictures.basin_map(basin_map, objective=objective), ax)


def hessian_view(
    point,
    objective: Objective,
    *,
    radius: float | None = None,
    log: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """The objective around `point` (a CriticalPoint from losslab.inspect) with its Hessian's
    eigen-directions: blue arrows pointing in along positive curvature (attracting), red
    arrows pointing out along negative curvature (repelling), lengths scaled by |eigenvalue|;
    a box lists the eigenvalues, trace, det and kind. radius: half-width of the view (default
    a quarter of the objective's window)."""
    return _on(pictures.hessian_view(point, objective, radius=radius, log=log), ax)


def loss_curves(trajectories, *, log: bool = True, ax: Axes | None = None) -> Axes:
    """Loss against step, one line per run; a red x where a run diverged. log: a log y axis
    when every loss is > 0, a symmetric-log axis when some are <= 0."""
    return _on(build.loss_scene(trajectories, log=log), ax)


def race(objective, trajectories, *, bounds=None, log: bool | None = None) -> Figure:
    """One Figure: the paths on the landscape (left) and the loss curves (right)."""
    return draw(pictures.race(objective, trajectories, bounds=bounds, log=log))


def slice_view(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """The picture of a Landscape: 3-D surface + filled contour for 2 directions, the curve
    (accuracy on a twin axis) for 1.

    metric: which of `landscape.values` to draw. log: colour (and height) by log10 of the
    metric (a 1-D curve gets a log y-axis). trajectory: a TrainingRun or an array
    (T, n_params) projected with `landscape.project`. mark: {label: parameter vector}."""
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
    ax: Axes | None = None,
) -> Axes:
    """Filled contour of a 2-D slice with a colour bar, the origin, the best grid point and
    optionally a projected trajectory and marked points."""
    panel = build.slice_contour_panel(
        landscape, metric=metric, log=log, trajectory=trajectory, mark=mark
    )
    return _on(Scene((panel,), size=build.CONTOUR_SIZE), ax)


def slice_surface(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A 2-D slice as a 3-D surface with the overlays lifted onto it (their height is the
    slice's value there, interpolated). `ax` must be a 3-D Axes when given."""
    panel = build.slice_surface_panel(
        landscape, metric=metric, log=log, trajectory=trajectory, mark=mark
    )
    return _on(Scene((panel,), size=build.SURFACE_SIZE), ax, "slice_surface")


def slice_curve(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A 1-D slice: the metric along the direction, and on a twin y-axis the accuracy (when
    the landscape has it and `metric` is a loss). Returns the main Axes."""
    panel = build.slice_curve_panel(
        landscape, metric=metric, log=log, trajectory=trajectory, mark=mark
    )
    return _on(Scene((panel,), size=build.CURVE_SIZE), ax)


def spectrum(
    result,
    *,
    log: bool = True,
    nodes: bool = True,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A Spectrum (losslab.curvature.density): density against eigenvalue, log density by
    default, the Lanczos nodes that carry weight as ticks at the bottom."""
    return _on(build.spectrum_scene(result, log=log, nodes=nodes, title=title), ax)
