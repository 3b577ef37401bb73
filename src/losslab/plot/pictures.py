"""The pictures `losslab.plot.static` and `losslab.plot.interactive` offer, as scenes.

Each function takes results, or an objective whose results it first computes THROUGH THE
LIBRARY (`evaluate_grid` -> a Landscape, `value_and_grad` for slopes and the gradient field),
then builds the scene from those results (build.py). Wherever a landscape is drawn, a saved
`Landscape` (`ll.load_result(path)`) may stand in for the objective: nothing else is needed.
"""

from __future__ import annotations

import numpy as np

from losslab.errors import LosslabError
from losslab.grid import evaluate_grid
from losslab.landscapes.result import Landscape
from losslab.objectives.base import Objective
from losslab.plot import _runs, _slice, build
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
            "use curve_1d (or landscape, which picks it)"
            if n == 1
            else "use contour (or landscape, which picks it)"
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


def landscape(
    source,
    *,
    trajectories=(),
    gradient_field=False,
    minima=True,
    critical_points=(),
    bounds=None,
    resolution=None,
    log=None,
    resolution_2d: int = 200,
) -> Scene:
    """`curve` for a 1-parameter objective (or 1-D landscape), `contour` for 2."""
    if n_params_of(source) == 1:
        return curve(
            source,
            trajectories=trajectories,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution or 400,
        )
    return contour(
        source,
        trajectories=trajectories,
        gradient_field=gradient_field,
        minima=minima,
        critical_points=critical_points,
        bounds=bounds,
        resolution=resolution or resolution_2d,
        log=log,
    )


def contour(
    source,
    *,
    trajectories=(),
    gradient_field=False,
    minima=True,
    critical_points=(),
    bounds=None,
    resolution=200,
    log=None,
) -> Scene:
    _runs.runs(trajectories, n_params=2)  # a mismatched run is refused before any work
    land = grid_of(source, bounds, resolution, 2, "contour")
    gradient = None
    if gradient_field:
        box = np.array([[c[0], c[-1]] for c in land.coords])
        gradient = _runs.gradient_field(_objective(source, "gradient_field"), box)
    return build.contour_scene(
        land,
        trajectories=trajectories,
        minima=known_minima(source, land) if minima else None,
        critical_points=critical_points,
        gradient=gradient,
        log=log,
    )


def surface(
    source, *, trajectories=(), minima=True, bounds=None, resolution=100, log=None
) -> Scene:
    _runs.runs(trajectories, n_params=2)
    land = grid_of(source, bounds, resolution, 2, "surface_3d")
    return build.surface_scene(
        land,
        trajectories=trajectories,
        minima=known_minima(source, land) if minima else None,
        log=log,
    )


def curve(
    source, *, trajectories=(), minima=True, critical_points=(), bounds=None, resolution=400
) -> Scene:
    all_runs = _runs.runs(trajectories, n_params=1)
    land = grid_of(source, bounds, resolution, 1, "curve_1d")
    return build.curve_scene(
        land,
        trajectories=trajectories,
        minima=known_minima(source, land) if minima else None,
        critical_points=critical_points,
        slopes=_slopes(source, all_runs),
    )


def _slopes(source, all_runs) -> list[float] | None:
    """f'(x) at the end of each shown run, in one batched call (None without an objective)."""
    shown = all_runs[: build.N_FINALS]
    if not shown or not isinstance(source, Objective):
        return None
    _, grads = _runs.derivative_at(source, np.stack([run.end for run in shown]))
    return [float(g[0]) for g in grads]


def basin_map(basin_map, *, objective: Objective | None = None) -> Scene:
    from losslab.attraction import BasinMap

    if not isinstance(basin_map, BasinMap):
        raise LosslabError(
            f"basin_map is a {type(basin_map).__name__}: give the BasinMap from losslab.basins."
        )
    coords = [c.detach().cpu().double().numpy() for c in basin_map.coords]
    box = np.array([[c[0], c[-1]] for c in coords])
    lines = curve_grid = None
    if objective is not None and len(coords) == 2:
        lines = evaluate_grid(objective, resolution=min(len(coords[0]), 150), bounds=box)
    elif objective is not None and len(coords) == 1:
        curve_grid = evaluate_grid(objective, resolution=400, bounds=box)
    return build.basin_scene(basin_map, lines=lines, curve=curve_grid)


def hessian_view(point, objective: Objective, *, radius=None, log=False) -> Scene:
    from losslab.curvature import CriticalPoint

    if not isinstance(point, CriticalPoint):
        raise LosslabError(
            f"point is a {type(point).__name__}: give a CriticalPoint from losslab.inspect."
        )
    box = _runs.hessian_box(point, objective, radius)
    resolution = 120 if objective.n_params == 2 else 300
    land = evaluate_grid(objective, resolution=resolution, bounds=box)
    return build.hessian_scene(point, land, log=log, name=objective.name)


def race(source, trajectories, *, bounds=None, log=None) -> Scene:
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
