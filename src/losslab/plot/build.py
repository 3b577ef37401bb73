"""Scene builders: results in, a `Scene` out. Nothing here evaluates an objective: every
number comes from a result (a Landscape, Trajectories, CriticalPoints, a BasinMap, a Spectrum)
or from arrays the caller computed through the library, so a saved result draws again from its
file alone.

    scene = contour_scene(ll.evaluate_grid(surface), trajectories=runs, minima=surface.minima)
    backend_mpl.draw(scene)  or  backend_plotly.draw(scene)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from losslab.attraction import DIVERGED, BasinMap
from losslab.curvature import CriticalPoint
from losslab.curvature.density import Spectrum
from losslab.errors import LosslabError
from losslab.plot import _runs, _slice, style
from losslab.plot._runs import Run
from losslab.plot.scene import (
    Arrows,
    Axis,
    Categories,
    ColourScale,
    Field,
    LegendEntry,
    Markers,
    Panel,
    Path,
    Points,
    Rule,
    Scene,
    Text,
    number,
    point_text,
)

CONTOUR_SIZE = (6.4, 5.6)
SURFACE_SIZE = (7.0, 5.8)
CURVE_SIZE = (7.5, 5.4)
LOSS_SIZE = (6.4, 4.6)
RACE_SIZE = (12.0, 5.4)
VIEW_SIZE = (13.0, 5.8)
SPECTRUM_SIZE = (7.0, 4.6)
N_FINALS = 6  # final-value boxes on a 1-D picture, at most
SPECTRUM_FLOOR = 1e-12  # densities below this (far tails) sit on the floor of the log axis


# -- fields -------------------------------------------------------------------------------------


def field_of(
    landscape,
    metric: str = "loss",
    *,
    log: bool | None = None,
    draw: str = "filled",
    what: str = "contour",
) -> Field:
    """A 2-D Landscape's metric as a Field on the display axes (raw weights on an identity or
    axes slice). log None follows the objective's log_scale flag in the metadata."""
    data = _slice.two_d(landscape, metric, what)
    log = _slice.log_default(landscape) if log is None else bool(log)
    x, y = data.coords
    name = "f" if _slice.is_surface(landscape) else data.metric
    rule = ColourScale.of_surface if draw == "surface" else ColourScale.of
    return Field(x, y, data.values, draw, rule(data.values, log, name), value_name=data.metric)


# -- runs ---------------------------------------------------------------------------------------


def run_items(
    all_runs: Sequence[Run],
    kind: str = "plane",
    scale: ColourScale | None = None,
    *,
    ground: Field | None = None,
):
    """Per run: its path, its start (circle) and its end (star, or a red x where it diverged),
    sharing a legend group. kind 'plane' (w1, w2), 'chart' (x, loss: a 1-D landscape) or
    'surface' (w1, w2, height of the loss on `scale`; with the `ground` surface drawn under
    it, never below its mesh: `Field.heights`)."""
    items: list = []
    for run in all_runs:
        group = f"run-{run.group}"
        if kind == "chart":
            x, y, z = run.path[:, 0], run.losses, None
            path_style, ramp = "path-1d", style.ramp(run.colour, len(run.losses))
        else:
            x, y = run.path[:, 0], run.path[:, 1]
            z = None
            if kind == "surface":
                on = ground.heights(run.path, run.losses) if ground is not None else None
                z = on if on is not None else scale.height(run.losses)
            path_style, ramp = ("path-3d" if kind == "surface" else "path"), None
        items.append(
            Path(
                x,
                y,
                z,
                style=path_style,
                colour=run.colour,
                label=run.legend,
                show_legend=run.show_legend,
                group=group,
                steps=run.steps,
                values=run.losses,
                marker_colours=ramp,
                status=run.status,
            )
        )
        end = slice(-1, None)
        for name, rows, marker in (
            ("start", slice(0, 1), "start"),
            (
                "diverged" if run.diverged else "end",
                end,
                "diverged" if run.diverged else "end",
            ),
        ):
            items.append(
                Markers(
                    x[rows],
                    y[rows],
                    None if z is None else z[rows],
                    style=marker,
                    colour=run.colour,
                    label=name if name == "start" else run.ending_text,
                    show_legend=False,
                    group=group,
                    name=name,
                    steps=run.steps[rows],
                    values=run.losses[rows],
                )
            )
    return items


def marker_legend(all_runs: Sequence[Run]) -> list[LegendEntry]:
    """Legend entries that explain the start and end markers (and the red x when needed)."""
    if not all_runs:
        return []
    entries = [
        LegendEntry("start", "marker", "start", "grey"),
        LegendEntry("end", "marker", "end", "grey"),
    ]
    if any(run.diverged for run in all_runs):
        entries.append(LegendEntry("diverged", "marker", "diverged"))
    return entries


# -- markers ------------------------------------------------------------------------------------


def minima_items(minima, heights=None, kind: str = "plane") -> list[Markers]:
    """Known minima (k, n) as one Markers item (none when there are none); heights (k,): their
    y on a chart or z on a surface."""
    points = _array(minima)
    if points is None or not len(points):
        return []
    if kind == "chart":
        return [
            Markers(
                points[:, 0],
                np.asarray(heights),
                style="minimum",
                label=style.MINIMUM_LABEL,
                name="minimum",
            )
        ]
    z = None if kind == "plane" else np.asarray(heights)
    return [
        Markers(
            points[:, 0],
            points[:, 1],
            z,
            style="minimum",
            label=style.MINIMUM_LABEL,
            name="minimum",
        )
    ]


def critical_items(points, heights_of=None) -> list[Markers]:
    """Critical points grouped by kind, one Markers item per kind present; `heights_of(points)`
    gives y on a chart (1-D)."""
    items = []
    for kind, where in _runs.critical_groups(points):
        y = where[:, 1] if heights_of is None else heights_of(where)
        items.append(
            Markers(
                where[:, 0],
                y,
                style=f"critical-{kind}",
                label=style.CRITICAL_TEXT[kind],
                name=f"critical-{kind}",
            )
        )
    return items


def gradient_arrows(field: _runs.GradientField) -> Arrows:
    """A GradientField (unit directions on a coarse grid) as arrows centred on their points."""
    half = 0.5 * field.length
    centres = np.column_stack([field.X.ravel(), field.Y.ravel()])
    unit = np.column_stack([field.U.ravel(), field.V.ravel()])
    keep = (unit != 0).any(axis=1)
    centres, unit = centres[keep], unit[keep]
    return Arrows(
        centres - half * unit,
        centres + half * unit,
        "gradient",
        label=style.GRADIENT_LABEL,
        show_legend=True,
        name="gradient",
    )


# -- the landscape of an objective --------------------------------------------------------------


def plane_axes(landscape, field: Field) -> tuple[Axis, Axis]:
    labels = _slice.labels_of(landscape)
    box = field.box
    return Axis(labels[0], tuple(box[0])), Axis(labels[1], tuple(box[1]))


def equal_aspect(box: np.ndarray) -> bool:
    """One unit as long on both axes unless the window is very elongated."""
    width, height = np.ptp(box[0]), np.ptp(box[1])
    return bool(height > 0 and 1 / 3 <= width / height <= 3)


def contour_panel(
    landscape,
    *,
    trajectories=(),
    minima=None,
    critical_points=(),
    gradient: _runs.GradientField | None = None,
    log: bool | None = None,
    title: str | None = None,
) -> Panel:
    """Filled contour of a 2-D landscape with paths (circle at the start, star at the end, a
    red x where a run diverged), known minima, critical points by kind and the gradient field.
    The view is the window: paths that leave it are clipped, never rescale the axes."""
    all_runs = _runs.runs(trajectories, n_params=2)
    field = field_of(landscape, log=log, what="contour")
    items: list = [field]
    if gradient is not None:
        items.append(gradient_arrows(gradient))
    items += critical_items(critical_points)
    items += minima_items(minima)
    items += run_items(all_runs)
    items += marker_legend(all_runs)
    x, y = plane_axes(landscape, field)
    return Panel(
        "plane",
        tuple(items),
        title=_slice.title_of(landscape.metadata) if title is None else title,
        x=x,
        y=y,
        equal=equal_aspect(field.box),
    )


def contour_scene(landscape, **options) -> Scene:
    return Scene((contour_panel(landscape, **options),), size=CONTOUR_SIZE)


def without_colour_bars(items) -> tuple:
    """Items whose fields draw no colour bar (where the width is short; a 3-D panel's z axis
    reads the heights)."""
    return tuple(replace(i, colourbar=False) if isinstance(i, Field) else i for i in items)


def surface_scene(landscape, *, trajectories=(), minima=None, log: bool | None = None) -> Scene:
    """The landscape as a 3-D surface (height = loss, or its log10), with paths and minima
    lifted onto it (their heights on the same colour scale, clipped to its range)."""
    all_runs = _runs.runs(trajectories, n_params=2)
    field = field_of(landscape, log=log, draw="surface", what="surface_3d")
    scale = field.scale
    items: list = [field]
    points = _array(minima)
    if points is not None and len(points):
        items += minima_items(points, field.heights(points, field.at(points)), kind="surface")
    items += run_items(all_runs, "surface", scale, ground=field)
    items += marker_legend(all_runs)
    x, y = plane_axes(landscape, field)
    lift = style.SURFACE_LIFT * (scale.hi - scale.lo)
    floor = scale.lo
    for item in items[1:]:
        if isinstance(item, Points) and item.z is not None and len(item.z):
            inside = _slice.inside(np.column_stack([item.x, item.y]), field.box)
            if inside.any():
                floor = min(floor, float(np.nanmin(item.z[inside])) - lift)
    z = Axis("log10 loss" if scale.log else "loss f", (floor, scale.hi + 2 * lift))
    panel = Panel(
        "surface",
        tuple(items),
        title=_slice.title_of(landscape.metadata),
        x=x,
        y=y,
        z=z,
        legend="inside" if (all_runs or len(items) > 1) else "none",
    )
    return Scene((panel,), size=SURFACE_SIZE)


def curve_panel(
    landscape,
    *,
    trajectories=(),
    minima=None,
    critical_points=(),
    slopes: Sequence[float] | None = None,
    title: str | None = None,
) -> Panel:
    """f(x) of a 1-D landscape with the descent steps on the curve (a ramp from pale to full
    colour shows their order) and a box per run (at most 6): final x, f(x), f'(x) (`slopes`,
    one per run, when given), steps. Minima and critical points sit on the curve (their
    height interpolated by the one rule)."""
    all_runs = _runs.runs(trajectories, n_params=1)
    data = _slice.one_d(landscape, "loss", "curve_1d")
    (x,) = data.coords
    f = data.values

    def on_curve(points):
        return _slice.interpolate(data, np.asarray(points)[:, :1])

    items: list = [Path(x, f, style="curve", label="f(x)", name="curve")]
    items += critical_items(critical_points, on_curve)
    points = _array(minima)
    if points is not None and len(points):
        items += minima_items(points, on_curve(points), kind="chart")
    items += run_items(all_runs, "chart")
    items += marker_legend(all_runs)
    shown = all_runs[:N_FINALS]
    for i, run in enumerate(shown):
        slope = "" if slopes is None else f"f'(x) = {number(slopes[i])}, "
        text = (
            f"{run.label}: x = {number(run.end[0])}, f(x) = {number(run.losses[-1])}, "
            f"{slope}steps = {run.stopped_at}"
        )
        if run.diverged:
            text += f" ({run.ending_text})"
        items.append(Text(text, 0.02, 0.97 - 0.065 * i, run.colour, "box"))
    n_boxes = len(shown)
    if len(all_runs) > len(shown):
        items.append(
            Text(
                f"... and {len(all_runs) - len(shown)} more",
                0.02,
                0.97 - 0.065 * len(shown),
                "black",
                "plain",
            )
        )
        n_boxes += 1
    label = _slice.labels_of(landscape)[0]
    return Panel(
        "chart",
        tuple(items),
        title=_slice.title_of(landscape.metadata) if title is None else title,
        x=Axis(label, tuple(data.box[0])),
        y=Axis("loss f(x)", _ylim(f, top=0.08 + 0.1 * n_boxes)),
        grid=True,
    )


def curve_scene(landscape, **options) -> Scene:
    return Scene((curve_panel(landscape, **options),), size=CURVE_SIZE)


def _ylim(values, pad: float = 0.08, top: float | None = None) -> tuple[float, float]:
    """Limits around the finite values: `pad` of the range below, `top` (default pad) above."""
    top = pad if top is None else top
    finite = np.asarray(values)[np.isfinite(values)]
    if not len(finite):
        raise LosslabError(
            "the objective is not finite anywhere in the window: choose other bounds."
        )
    from losslab.plot.scene import spread

    lo, hi = spread(float(finite.min()), float(finite.max()))
    return lo - pad * (hi - lo), hi + top * (hi - lo)


# -- basins -------------------------------------------------------------------------------------


def basin_scene(basin_map: BasinMap, *, lines=None, curve=None) -> Scene:
    """Where each start ends: one colour per minimum, grey for 'no known minimum', black for
    'diverged'; the legend gives the share of starts per basin. lines: a 2-D Landscape drawn as
    faint contour lines on top; curve: a 1-D Landscape drawn over a 1-D map."""
    if not isinstance(basin_map, BasinMap):
        raise LosslabError(
            f"basin_map is a {type(basin_map).__name__}: give the BasinMap from losslab.basins."
        )
    n = len(basin_map.coords)
    if n not in (1, 2):
        raise LosslabError(f"basin_map has {n} coordinates: only 1-D and 2-D maps can be drawn.")
    k = len(basin_map.minima)
    labels = basin_map.labels.detach().cpu().numpy()
    coords = [_runs.float64(c) for c in basin_map.coords]
    minima = _runs.float64(basin_map.minima)
    categories = Categories(
        tuple(range(DIVERGED, k)), tuple(style.basin_colour(i) for i in range(DIVERGED, k))
    )
    items: list = []
    if n == 2:
        items.append(
            Field(
                coords[0],
                coords[1],
                labels,
                "heatmap",
                categories=categories,
                colourbar=False,
                name="basins",
            )
        )
        if lines is not None:
            items.append(field_of(lines, log=None, draw="lines", what="basin_map"))
            items[-1] = _renamed(items[-1], "contour lines")
        items += minima_items(minima)
        box = np.array([[c[0], c[-1]] for c in coords])
        x, y = Axis("w1 (x)", _edges(coords[0])), Axis("w2 (y)", _edges(coords[1]))
        kind, equal = "plane", equal_aspect(box)
    else:
        lo, hi = 0.0, 1.0
        if curve is not None:
            data = _slice.one_d(curve, "loss", "basin_map")
            lo, hi = _ylim(data.values)
        band = np.stack([labels, labels], axis=1)  # (n, 2): the map stretched over [lo, hi]
        items.append(
            Field(
                coords[0],
                np.array([lo, hi]),
                band,
                "heatmap",
                categories=categories,
                colourbar=False,
                name="basins",
                opacity=0.8,
            )
        )
        if curve is not None:
            items.append(
                Path(
                    data.coords[0],
                    data.values,
                    style="curve",
                    label="f(x)",
                    name="curve",
                    show_legend=False,
                )
            )
            heights = _slice.interpolate(data, minima[:, :1]) if len(minima) else []
        else:
            heights = np.full(len(minima), 0.5)
        items += minima_items(minima, heights, kind="chart")
        x = Axis("w (x)", _edges(coords[0]))
        y = Axis("loss f(x)" if curve is not None else "", (lo, hi))
        kind, equal = "chart", False
    items = [replace(i, show_legend=False) if isinstance(i, Markers) else i for i in items]
    for entry in _runs.basin_entries(basin_map):
        items.append(LegendEntry(entry.text, "patch", colour=entry.colour))
    if len(minima):
        items.append(LegendEntry(style.MINIMUM_LABEL, "marker", "minimum", name="legend-minimum"))
    panel = Panel(
        kind,
        tuple(items),
        title=_runs.basin_title(basin_map),
        x=x,
        y=y,
        equal=equal,
        legend_title="share of starts per basin",
    )
    return Scene((panel,), size=CONTOUR_SIZE if n == 2 else CURVE_SIZE)


def _renamed(field: Field, name: str) -> Field:
    return replace(field, name=name, colourbar=False)


def _edges(centres: np.ndarray) -> tuple[float, float]:
    """Outer edges of a regular grid of cell centres, so each cell is centred on its point."""
    half = 0.5 * (centres[-1] - centres[0]) / max(len(centres) - 1, 1)
    return float(centres[0] - half), float(centres[-1] + half)


# -- the Hessian at a point ---------------------------------------------------------------------


def hessian_scene(point: CriticalPoint, landscape, *, log: bool = False, name: str = "") -> Scene:
    """The landscape around `point` (a CriticalPoint) with its Hessian's eigen-directions:
    arrows pointing in along positive curvature (attracting), out along negative curvature
    (repelling), lengths scaled by |eigenvalue|; a box with eigenvalues, trace, det and kind."""
    if not isinstance(point, CriticalPoint):
        raise LosslabError(
            f"point is a {type(point).__name__}: give a CriticalPoint from losslab.inspect."
        )
    centre = _runs.float64(point.point)
    box = np.array([[c[0], c[-1]] for c in landscape.coords])
    arrows = _runs.eigen_arrows(point, float(box[0, 1] - box[0, 0]) / 2)
    label = f"{point.kind} at {point_text(centre)}"
    if landscape.ndim == 2:
        field = field_of(landscape, log=log, what="hessian_view")
        items: list = [field]
        items += [_eigen(a, a.tails, a.tips) for a in arrows]
        items.append(Markers(centre[:1], centre[1:2], style="point", label=label, name="point"))
        x, y = plane_axes(landscape, field)
        kind, equal = "plane", equal_aspect(field.box)
    else:
        data = _slice.one_d(landscape, "loss", "hessian_view")
        (xs,) = data.coords
        slope, curvature = float(point.gradient[0]), float(point.hessian[0, 0])
        dx = xs - centre[0]
        items = [
            Path(xs, data.values, style="curve", label="f(x)", name="curve"),
            Path(
                xs,
                point.value + slope * dx + 0.5 * curvature * dx**2,
                style="quadratic",
                label="quadratic model",
                name="curve",
            ),
        ]
        level = np.full((2, 1), point.value)  # in 1-D the eigen-direction is the x axis
        items += [
            _eigen(a, np.hstack([a.tails, level]), np.hstack([a.tips, level])) for a in arrows
        ]
        items.append(
            Markers(centre[:1], np.array([point.value]), style="point", label=label, name="point")
        )
        x = Axis(_slice.labels_of(landscape)[0], tuple(data.box[0]))
        y = Axis("loss f(x)", _ylim(data.values, top=0.5))  # headroom: the box sits above
        kind, equal = "chart", False
    items.append(Text(_runs.hessian_text(point), 0.02, 0.98, "black", "mono"))
    items += [LegendEntry(a.text, "arrow", "flat" if a.flat else _arrow_style(a)) for a in arrows]
    title = f"{point.objective or name} at {point_text(point.point.tolist())}: {point.kind}"
    panel = Panel(kind, tuple(items), title=title, x=x, y=y, equal=equal, grid=kind == "chart")
    return Scene((panel,), size=CONTOUR_SIZE)


def _arrow_style(arrow) -> str:
    if arrow.flat:
        return "flat"
    return "attracting" if arrow.eigenvalue > 0 else "repelling"


def _eigen(arrow, tails: np.ndarray, tips: np.ndarray) -> Arrows:
    return Arrows(tails, tips, _arrow_style(arrow), label=arrow.text, name="eigen")


# -- losses and races ---------------------------------------------------------------------------


def loss_panel(trajectories, *, log: bool = True, legend: bool = True) -> Panel:
    """Loss against step, one line per run, a red x where a run diverged. log: a log axis when
    every loss is >= 0 and some > 0 (an exact 0 falls off the bottom), symlog when some loss is
    negative (plotly draws that one linear)."""
    all_runs = _runs.runs(trajectories)
    if not all_runs:
        raise LosslabError(
            "loss_curves needs at least one trajectory: give the result of "
            "losslab.descend or losslab.race."
        )
    items: list = []
    for run in all_runs:
        group = f"run-{run.group}"
        items.append(
            Path(
                run.steps,
                run.losses,
                style="loss",
                colour=run.colour,
                label=run.legend,
                show_legend=legend and run.show_legend,
                group=group,
                name="loss",
                status=run.status,
            )
        )
        if run.diverged:
            items.append(
                Markers(
                    run.steps[-1:],
                    run.losses[-1:],
                    style="diverged",
                    label=run.ending_text,
                    show_legend=False,
                    group=group,
                    name="diverged",
                )
            )
    if legend and any(run.diverged for run in all_runs):
        items.append(LegendEntry("diverged", "marker", "diverged"))
    scale = _runs.loss_scale(all_runs, log)
    label = "loss"
    threshold = 1.0
    if scale == "log":
        if any(np.any(run.losses == 0) for run in all_runs):
            label = "loss (log; a loss of 0 falls off the bottom)"
    elif scale == "symlog":
        threshold = _runs.symlog_threshold(all_runs)
        label = f"loss (symmetric log, linear within \u00b1{number(threshold, 2)})"
    last = max(1, max(int(run.steps[-1]) for run in all_runs))
    return Panel(
        "chart",
        tuple(items),
        title="loss per step",
        x=Axis("step", (0, last)),
        y=Axis(label, None, scale, threshold),
        legend="inside" if legend else "none",
        grid=True,
    )


def loss_scene(trajectories, *, log: bool = True) -> Scene:
    return Scene((loss_panel(trajectories, log=log),), size=LOSS_SIZE)


def race_scene(
    landscape, trajectories, *, minima=None, log: bool | None = None, slopes=None
) -> Scene:
    """The paths on the landscape (left) and the loss curves (right)."""
    n = landscape.ndim
    all_runs = _runs.runs(trajectories, n_params=n)
    if n == 1:
        left = curve_panel(landscape, trajectories=trajectories, minima=minima, slopes=slopes)
    else:
        left = contour_panel(landscape, trajectories=trajectories, minima=minima, log=log)
    right = loss_panel(trajectories, legend=False)
    name = _slice.title_of(landscape.metadata)
    title = ""
    if all_runs:
        starts = {point_text(run.start) for run in all_runs}
        where = f" from {starts.pop()}" if len(starts) == 1 else ""
        title = f"optimizer race on {name}{where}"
    return Scene((left, right), title=title, size=RACE_SIZE, widths=(0.55, 0.45))


# -- slices of a network's landscape ------------------------------------------------------------


def slice_items(landscape, data, *, trajectory=None, mark=None, heights=None) -> list:
    """The overlays of a slice as scene items: origin, best grid point, anchors, marked points,
    the projected trajectory with its start and end. heights(points) -> z on a surface."""
    items: list = []
    for overlay in _slice.overlays(landscape, data, trajectory=trajectory, mark=mark):
        pts = overlay.points
        z = None if heights is None else heights(pts)
        if overlay.kind == "trajectory":
            items.append(
                Path(
                    pts[:, 0],
                    pts[:, 1] if data.ndim == 2 else _slice.interpolate(data, pts),
                    z,
                    style="trajectory",
                    label=overlay.label,
                    group="trajectory",
                    name="trajectory",
                )
            )
            continue
        marker = {
            "origin": "origin",
            "best": "best",
            "start": "trajectory-start",
            "end": "trajectory-end",
            "anchor": style.anchor_style(overlay.index),
            "mark": style.mark_style(overlay.index),
        }[overlay.kind]
        y = pts[:, 1] if data.ndim == 2 else _slice.interpolate(data, pts)
        group = "trajectory" if overlay.kind in ("start", "end") else overlay.kind
        items.append(
            Markers(
                pts[:, 0],
                y,
                z,
                style=marker,
                label=overlay.label,
                show_legend=overlay.kind not in ("start", "end"),
                group=group,
                name=overlay.kind,
            )
        )
        if overlay.kind == "anchor" and data.ndim == 1:
            items.append(Rule(float(pts[0, 0])))
    if any(isinstance(i, Markers) and i.name == "start" for i in items):
        items.append(LegendEntry("start", "marker", "trajectory-start"))
    if any(isinstance(i, Markers) and i.name == "end" for i in items):
        items.append(LegendEntry("end", "marker", "trajectory-end"))
    return items


def slice_contour_panel(
    landscape, *, metric="loss", log=False, trajectory=None, mark=None, legend="below"
) -> Panel:
    data = _slice.two_d(landscape, metric, "slice_contour")
    field = Field(
        *data.coords,
        data.values,
        "filled",
        ColourScale.of(data.values, log, data.metric),
        value_name=data.metric,
    )
    items = [field, *slice_items(landscape, data, trajectory=trajectory, mark=mark)]
    return _slice_panel("plane", items, data, log, legend, equal=equal_aspect(data.box))


def slice_surface_panel(
    landscape,
    *,
    metric="loss",
    log=False,
    trajectory=None,
    mark=None,
    colourbar=True,
    legend="below",
) -> Panel:
    data = _slice.two_d(landscape, metric, "slice_surface")
    scale = ColourScale.of(data.values, log, data.metric)
    field = Field(
        *data.coords, data.values, "surface", scale, colourbar=colourbar, value_name=data.metric
    )

    def heights(points):
        return field.heights(points, _slice.interpolate(data, points))

    items = [
        field,
        *slice_items(landscape, data, trajectory=trajectory, mark=mark, heights=heights),
    ]
    lift = style.SURFACE_LIFT * (scale.hi - scale.lo)
    z = Axis(data.value_label(scale.log), (scale.lo, scale.hi + 2 * lift))
    return _slice_panel("surface", items, data, log, legend, z=z)


def _slice_panel(kind: str, items, data, log: bool, legend: str, **axes) -> Panel:
    """A panel of a 2-D slice: its title, the directions' axes over the box, and `axes`
    (z=, equal=)."""
    (x0, x1), (y0, y1) = data.box
    return Panel(
        kind,
        tuple(items),
        title=_slice.full_title(data, log),
        x=Axis(data.labels[0], (x0, x1)),
        y=Axis(data.labels[1], (y0, y1)),
        legend=legend,
        **axes,
    )


def slice_curve_panel(landscape, *, metric="loss", log=False, trajectory=None, mark=None) -> Panel:
    data = _slice.one_d(landscape, metric, "slice_curve")
    (x,) = data.coords
    items: list = [Path(x, data.values, style="metric", label=metric, name="curve")]
    items += slice_items(landscape, data, trajectory=trajectory, mark=mark)
    other = _slice.secondary_metric(landscape, metric)
    y2 = None
    if other is not None:
        extra = _slice.slice_of(landscape, other)
        items.append(
            Path(x, extra.values, style="secondary", label=other, name="secondary", axis="y2")
        )
        y2 = Axis(other, colour=style.ACCURACY_COLOUR)
    scale = "linear"
    if log:
        finite = data.values[np.isfinite(data.values)]
        scale = "log" if len(finite) and finite.min() > 0 else "symlog"
    return Panel(
        "chart",
        tuple(items),
        title=_slice.full_title(data, False),
        x=Axis(data.labels[0], tuple(data.box[0])),
        y=Axis(
            metric + (" (log scale)" if log else ""), None, scale, 1e-3, colour=style.LOSS_COLOUR
        ),
        y2=y2,
        grid=True,
    )


def slice_view_scene(
    landscape, *, metric="loss", log=False, trajectory=None, mark=None, title=None
) -> Scene:
    """A 2-D slice: 3-D surface (left) and filled contour (right), one legend; a 1-D slice:
    the curve with the accuracy on a second axis."""
    data = _slice.slice_of(landscape, metric)
    options = {"metric": metric, "log": log, "trajectory": trajectory, "mark": mark}
    if data.ndim == 1:
        panel = slice_curve_panel(landscape, **options)
        return Scene((panel,), title=title or "", size=CURVE_SIZE)
    surface = slice_surface_panel(landscape, colourbar=False, legend="none", **options)
    quiet = tuple(  # the contour beside lists each overlay in the legend once
        replace(i, show_legend=False) if isinstance(i, Markers | Path) else i
        for i in surface.items
        if not isinstance(i, LegendEntry)
    )
    left = replace(surface, items=quiet, title="")
    right = replace(slice_contour_panel(landscape, **options), title="")
    return Scene(
        (left, right),
        title=title or _slice.full_title(data, log),
        size=VIEW_SIZE,
        widths=(0.5, 0.5),
    )


# -- the Hessian's spectrum ---------------------------------------------------------------------


def spectrum_scene(result, *, log: bool = True, nodes: bool = True, title=None) -> Scene:
    """A Spectrum (losslab.curvature.density): density against eigenvalue, log density by
    default, the Ritz nodes that carry weight as ticks along the bottom."""
    if not isinstance(result, Spectrum):
        raise LosslabError(
            f"spectrum() draws a Spectrum from losslab.curvature.density, not a "
            f"{type(result).__name__}."
        )
    grid = _runs.float64(result.grid)
    density = _runs.float64(result.density)
    finite = np.isfinite(density)
    if not finite.any():
        raise LosslabError("the spectrum's density is not finite anywhere: nothing to draw.")
    shown = np.where(finite, np.maximum(density, SPECTRUM_FLOOR) if log else density, np.nan)
    items: list = [
        Path(grid, shown, style="spectrum", label="density", name="spectrum", show_legend=False)
    ]
    if nodes:
        weights = np.asarray(result.weights, dtype=np.float64).reshape(-1)
        points = np.asarray(result.nodes, dtype=np.float64).reshape(-1)[weights > 0]
        items.append(
            Markers(
                points,
                np.zeros_like(points),
                style="node",
                label="Lanczos nodes",
                name="nodes",
                show_legend=False,
                axes_fraction_y=True,
            )
        )
    y_range = None
    if log:
        top = float(np.nanmax(shown))
        y_range = (max(SPECTRUM_FLOOR, top * 1e-9), top * 3)
    n = result.n_params
    probes = np.asarray(result.nodes).shape[0]
    subtitle = (
        f"{n} parameters, {probes} probe{'s' if probes != 1 else ''}, sigma {result.sigma:.3g}"
    )
    panel = Panel(
        "chart",
        tuple(items),
        title=title or f"Hessian eigenvalue density ({subtitle})",
        x=Axis("eigenvalue"),
        y=Axis("density (log)" if log else "density", y_range, "log" if log else "linear"),
        legend="none",
        grid=True,
    )
    return Scene((panel,), size=SPECTRUM_SIZE)


# -- helpers ------------------------------------------------------------------------------------


def _array(points) -> np.ndarray | None:
    if points is None:
        return None
    if isinstance(points, torch.Tensor):
        return _runs.float64(points).reshape(len(points), -1)
    return np.asarray(points, dtype=np.float64).reshape(len(points), -1) if len(points) else None
