"""The pictures `losslab.plot.static` and `losslab.plot.interactive` offer, as scenes.

Each function takes results, or an objective whose results it first computes THROUGH THE
LIBRARY (`evaluate_grid` -> a Landscape, `value_and_grad` for slopes and the gradient field),
then builds the scene from those results (build.py). Wherever a landscape is drawn, a saved
`Landscape` (`ll.load_result(path)`) may stand in for the objective: nothing else is needed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from losslab.errors import LosslabError
from losslab.landscapes.grid import evaluate_grid
from losslab.landscapes.result import Landscape
from losslab.objectives.base import Objective
from losslab.plot import _runs, _slice, build, connectivity
from losslab.plot.scene import Scene


def grid_of(source, bounds, resolution: int, n_params: int, what: str) -> Landscape:
    """The Landscape to draw: `source` itself when it is one, else the objective evaluated on
    its window (or `bounds`). A LosslabError names the right function for another dimension."""
    if isinstance(source, Landscape):
        n = source.ndim
        name = _slice.title_of(source.metadata)
    elif isinstance(source, Objective):
        n, name = source.n_params, source.name
    else:
        raise LosslabError(
            f"{what} draws an objective or a Landscape, not a {type(source).__name__}."
        )
    if n != n_params:
        hint = (
            "use curve_1d (or view, which picks it)"
            if n == 1
            else "use contour (or view, which picks it)"
            if n == 2
            else "draw a 1-D or 2-D slice of it"
        )
        raise LosslabError(
            f"{what} needs a {n_params}-D objective; '{name}' has {n} parameter(s): {hint}."
        )
    if isinstance(source, Landscape):
        return source
    return evaluate_grid(source, resolution=resolution, bounds=bounds)


def known_minima(source, land: Landscape) -> np.ndarray:
    """The objective's known minima, or those recorded in the landscape's metadata."""
    if isinstance(source, Objective):
        return _runs.minima_array(source)
    return np.asarray(land.metadata.get("minima") or [], dtype=np.float64).reshape(-1, land.ndim)


def _objective(source, what: str) -> Objective:
    if not isinstance(source, Objective):
        raise LosslabError(f"{what} needs the objective (a saved landscape has no gradient).")
    return source


def n_params_of(source) -> int:
    return source.ndim if isinstance(source, Landscape) else source.n_params


def view(
    objective,
    *,
    trajectories=(),
    gradient_field: bool = False,
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int | None = None,
    log: bool | None = None,
) -> Scene:
    """The natural picture of an objective (or a Landscape): `curve_1d` for 1 parameter,
    `contour` for 2. gradient_field and log apply to 2-D objectives only."""
    shared = {
        "trajectories": trajectories,
        "minima": minima,
        "critical_points": critical_points,
        "bounds": bounds,
    }
    if n_params_of(objective) == 1:
        return curve_1d(objective, resolution=resolution or 400, **shared)
    return contour(
        objective, gradient_field=gradient_field, resolution=resolution or 200, log=log, **shared
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
) -> Scene:
    """Filled contour of a 2-D objective (or Landscape) over its window, with a colour bar.

    trajectories: a Trajectory (batched or not) or a list of them, drawn as paths with a circle
        at the start and a star at the end (a red x where a run diverged).
    gradient_field: arrows of the gradient direction (uphill, perpendicular to the contour
        lines) on a 20x20 grid (needs the objective). minima: mark the known minima.
    critical_points: CriticalPoints marked by kind. log: None follows objective.log_scale.
    The view stays on the window: paths that leave it are clipped, never rescale the axes.
    """
    _runs.runs(trajectories, n_params=2)  # a mismatched run is refused before any work
    land = grid_of(objective, bounds, resolution, 2, "contour")
    gradient = None
    if gradient_field:
        box = np.array([[c[0], c[-1]] for c in land.coords])
        gradient = _runs.gradient_field(_objective(objective, "gradient_field"), box)
    return build.contour_scene(
        land,
        trajectories=trajectories,
        minima=known_minima(objective, land) if minima else None,
        critical_points=critical_points,
        gradient=gradient,
        log=log,
    )


def surface_3d(
    objective,
    *,
    trajectories=(),
    minima: bool = True,
    bounds=None,
    resolution: int = 100,
    log: bool | None = None,
) -> Scene:
    """The objective (or Landscape) as a 3-D surface (height = loss, or its log10 when log),
    with trajectories lifted onto it (z = their loss)."""
    _runs.runs(trajectories, n_params=2)
    land = grid_of(objective, bounds, resolution, 2, "surface_3d")
    return build.surface_scene(
        land,
        trajectories=trajectories,
        minima=known_minima(objective, land) if minima else None,
        log=log,
    )


def curve_1d(
    objective,
    *,
    trajectories=(),
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 400,
) -> Scene:
    """f(x) of a 1-D objective (or Landscape) over its window with the descent steps on the
    curve; the dots fade from pale (first step) to the run's colour (last step). A box per
    run gives the final x, f(x), f'(x) (with the objective) and the number of steps."""
    all_runs = _runs.runs(trajectories, n_params=1)
    land = grid_of(objective, bounds, resolution, 1, "curve_1d")
    return build.curve_scene(
        land,
        trajectories=trajectories,
        minima=known_minima(objective, land) if minima else None,
        critical_points=critical_points,
        slopes=_slopes(objective, all_runs),
    )


def _slopes(source, all_runs) -> list[float] | None:
    """f'(x) at the end of each shown run, in one batched call (None without an objective)."""
    shown = all_runs[: build.N_FINALS]
    if not shown or not isinstance(source, Objective):
        return None
    _, grads = _runs.derivative_at(source, np.stack([run.end for run in shown]))
    return [float(g[0]) for g in grads]


def basin_map(basin_map, *, objective: Objective | None = None) -> Scene:
    """Where each start ends: one colour per minimum, grey for 'no known minimum', black for
    'diverged'; the legend gives the share of starts per basin. With `objective`, faint contour
    lines of it on top (a curve under a 1-D map)."""
    from losslab.attraction import BasinMap

    if not isinstance(basin_map, BasinMap):
        raise LosslabError(
            f"basin_map is a {type(basin_map).__name__}: give the BasinMap from losslab.basins."
        )
    coords = [_runs.float64(c) for c in basin_map.coords]
    box = np.array([[c[0], c[-1]] for c in coords])
    lines = curve_grid = None
    if objective is not None and len(coords) == 2:
        lines = evaluate_grid(objective, resolution=min(len(coords[0]), 150), bounds=box)
    elif objective is not None and len(coords) == 1:
        curve_grid = evaluate_grid(objective, resolution=400, bounds=box)
    return build.basin_scene(basin_map, lines=lines, curve=curve_grid)


def hessian_view(
    point, objective: Objective, *, radius: float | None = None, log: bool = False
) -> Scene:
    """The objective around `point` (a CriticalPoint from losslab.inspect) with its Hessian's
    eigen-directions: blue arrows pointing in along positive curvature (attracting), red
    arrows pointing out along negative curvature (repelling), lengths scaled by |eigenvalue|;
    a box lists the eigenvalues, trace, det and kind. radius: half-width of the view (default
    a quarter of the objective's window). log: colour on a log scale."""
    from losslab.curvature import CriticalPoint

    if not isinstance(point, CriticalPoint):
        raise LosslabError(
            f"point is a {type(point).__name__}: give a CriticalPoint from losslab.inspect."
        )
    box = _runs.hessian_box(point, objective, radius)
    resolution = 120 if objective.n_params == 2 else 300
    land = evaluate_grid(objective, resolution=resolution, bounds=box)
    return build.hessian_scene(point, land, log=log, name=objective.name)


def race(objective, trajectories, *, bounds=None, log: bool | None = None) -> Scene:
    """The paths on the landscape (left) and the loss curves (right); in plotly, clicking a
    run in the legend hides both its path and its loss curve."""
    source = objective
    n = n_params_of(source)
    all_runs = _runs.runs(trajectories, n_params=n)
    land = grid_of(source, bounds, 400 if n == 1 else 150, n, "race")
    return build.race_scene(
        land,
        trajectories,
        minima=known_minima(source, land),
        log=log,
        slopes=_slopes(source, all_runs) if n == 1 else None,
    )


def loss_curves(trajectories, *, log: bool = True) -> Scene:
    """Loss against step, one line per run; a red x where a run diverged. log: a log y axis
    when every loss is > 0, a symmetric-log axis when some are <= 0 (linear in plotly)."""
    return build.loss_scene(trajectories, log=log)


def slice_view(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Scene:
    """The picture of a Landscape (a slice through a network's loss): 3-D surface + filled
    contour for 2 directions, the curve (the accuracy on a second axis) for 1.

    metric: which of `landscape.values` to draw ('loss', 'accuracy', ...). log: colour (and
    height) by log10 of the metric (a 1-D curve gets a log y-axis). trajectory: a TrainingRun
    (its `params`) or an array (T, n_params) of parameter vectors, projected with
    `landscape.project`. mark: {label: parameter vector} points to mark, e.g.
    {"normal equation": (w1, w2)}. Every view marks the origin and the best grid point."""
    return build.slice_view_scene(
        landscape, metric=metric, log=log, trajectory=trajectory, mark=mark, title=title
    )


def _slice_panel_picture(name: str, make_panel, size, doc: str):
    """A one-panel picture of a slice: `make_panel` (build.slice_*_panel) in a Scene of `size`,
    with the arguments of slice_view but `title`."""

    def picture(
        landscape,
        *,
        metric: str = "loss",
        log: bool = False,
        trajectory=None,
        mark: Mapping[str, Any] | None = None,
    ) -> Scene:
        panel = make_panel(landscape, metric=metric, log=log, trajectory=trajectory, mark=mark)
        return Scene((panel,), size=size)

    picture.__name__ = picture.__qualname__ = name
    picture.__doc__ = doc
    return picture


slice_contour = _slice_panel_picture(
    "slice_contour",
    build.slice_contour_panel,
    build.CONTOUR_SIZE,
    """Filled contour of a 2-D slice with a colour bar and the overlays of `slice_view`.""",
)
slice_surface = _slice_panel_picture(
    "slice_surface",
    build.slice_surface_panel,
    build.SURFACE_SIZE,
    """A 2-D slice as a 3-D surface with the overlays lifted onto it (their height is the
    slice's value there, interpolated by the one rule).""",
)
slice_curve = _slice_panel_picture(
    "slice_curve",
    build.slice_curve_panel,
    build.CURVE_SIZE,
    """A 1-D slice: the metric along the direction, and on a second y-axis the accuracy (when
    the landscape has it and `metric` is a loss).""",
)


def spectrum(result, *, log: bool = True, nodes: bool = True, title: str | None = None) -> Scene:
    """A Spectrum (losslab.curvature.density): density against eigenvalue (log density by
    default), the Lanczos nodes that carry weight as ticks along the bottom."""
    return build.spectrum_scene(result, log=log, nodes=nodes, title=title)


def path_profile(paths, *, title: str = "") -> Scene:
    """Metrics along paths between two models (losslab.connectivity.Path): loss (and accuracy)
    against t, a dot per evaluated point, and dashed the straight line between each path's end
    values, whose largest gap to the path is its barrier (in the legend).

    paths: a Path, a sequence of Paths, a mapping {label: Path}, or (label, Path, colour)
    triples (colour: 'before', 'after', 'bezier' or '#rrggbb'). Colours by default: a Bezier
    curve green, straight lines orange then blue."""
    return connectivity.profile_scene(_path_entries(paths), title=title)


def _path_entries(paths) -> list[tuple[str, Any, str]]:
    if isinstance(paths, Mapping):
        paths = list(paths.items())
    elif not isinstance(paths, list | tuple):
        paths = [paths]
    entries, lines = [], iter(("before", "after", "#9467bd", "#8c564b"))
    for entry in paths:
        if isinstance(entry, tuple) and len(entry) == 3:
            entries.append(entry)
            continue
        label, path = entry if isinstance(entry, tuple) else (None, entry)
        kind = getattr(path, "kind", None)
        if kind is None:
            raise LosslabError(
                f"path_profile draws losslab.connectivity Paths, not a {type(path).__name__}."
            )
        colour = "bezier" if kind == "bezier" else next(lines, "#7f7f7f")
        entries.append(
            (label or ("Bezier curve" if kind == "bezier" else "straight line"), path, colour)
        )
    return entries


def bezier_plane(landscape, bezier, *, log: bool = True, title: str | None = None) -> Scene:
    """Garipov et al. 2018's picture: the loss on the plane through model A, model B and the
    Bezier control point (`landscape`: a 2-D Landscape of that plane, origin A, orthonormal
    directions from b - a and c - a, e.g. from losslab.landscape with custom directions), the
    three points marked, the straight line dashed and the curve (it lies in the plane)."""
    return connectivity.plane_scene(landscape, bezier, log=log, title=title)


def width_curves(sweep, *, title: str | None = None) -> Scene:
    """A WidthSweep: one small panel per figure (final loss and accuracy, loss and accuracy
    barriers before/after weight matching, top Hessian eigenvalue, non-convex share and
    roughness of a 2-D slice) against width, mean over seeds with +-1 sd whiskers."""
    return connectivity.width_scene(sweep, title=title)


def drawn(name: str, draw: Callable[[Scene], Any], returns: type) -> Callable:
    """The picture `name` drawn by a backend's `draw(scene)`: the same arguments and docstring,
    returning what `draw` returns (`returns`, for the signature)."""
    make = globals()[name]

    @functools.wraps(make)
    def figure(*args, **kwargs):
        return draw(make(*args, **kwargs))

    figure.__signature__ = inspect.signature(make).replace(return_annotation=returns)
    return figure


# The pictures both renderers offer, by name (static adds `ax=`).
PICTURES = (
    "view",
    "contour",
    "surface_3d",
    "curve_1d",
    "basin_map",
    "hessian_view",
    "loss_curves",
    "race",
    "slice_view",
    "slice_contour",
    "slice_surface",
    "slice_curve",
    "spectrum",
    "path_profile",
    "bezier_plane",
    "width_curves",
)
