"""The web lab's pictures as scenes: results in, a `losslab.plot.scene.Scene` out.

These are scene builders like those of `losslab.plot.build` (and reuse them: fields, run
items, gradient arrows, eigen-arrows), with one extra promise the browser needs: every picture
has a FIXED item order, empty items included (a surface without known minima still has its
"minimum" item, hidden gradient arrows are an empty `Arrows`), so the plotly figure's trace
indices never move. Patches and the animation player address traces by index (figures.py
lists them); nothing here knows plotly.

Looks come from the one style table (`losslab.plot.style`) by name; the only numbers here are
layout choices of the lab (grid resolutions, the length of the eigen-arrows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from losslab.attraction import DIVERGED, BasinMap
from losslab.curvature import CriticalPoint
from losslab.landscapes.result import Landscape
from losslab.plot import _runs, build, style
from losslab.plot._runs import GradientField, Run
from losslab.plot.scene import (
    Arrows,
    Axis,
    Bars,
    Categories,
    ColourScale,
    Field,
    LegendEntry,
    Markers,
    Panel,
    Path,
    Scene,
    interpolate,
)
from losslab.web import width_lesson

CURVATURE_KINDS = ("minimum", "saddle", "maximum", "degenerate")
EIGEN_RADIUS = 0.16  # eigen-arrows reach this fraction of the window's larger side
LOSS_FLOOR = 1e-16  # a loss <= 0 sits here on a log axis (the hover keeps the true value)
NO_POINTS = np.empty(0)
SWEEP_POINTER_SHARE = 0.07  # the width chart's pointer: this share of its top above the whisker
SWEEP_FLOOR_SHARE = 0.03  # its y axis starts this share of its top below 0: a dot at 0 shows
SWEEP_LIGHT = "#e3e6ed"  # the width chart's bars before matching, beside those after
W1, W2 = "w1 (x)", "w2 (y)"


# -- pieces -------------------------------------------------------------------------------------


def field(land: Landscape, draw: str = "filled") -> Field:
    """A surface's grid (`evaluate_grid`) as a coloured field, log colour when the surface says
    its values span decades."""
    return build.field_of(land, draw=draw, what="web lab")


def minima_item(minima: np.ndarray, z: np.ndarray | None = None) -> Markers:
    """The known minima, as one item even when there are none."""
    minima = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
    return Markers(
        minima[:, 0],
        minima[:, 1],
        z,
        style="minimum",
        label=style.MINIMUM_LABEL,
        show_legend=bool(len(minima)),
        name="minimum",
    )


def run_items(
    run: Run, kind: str = "plane", scale: ColourScale | None = None, ground: Field | None = None
) -> list:
    """path, start, end of one run (`losslab.plot.build.run_items`): 3 items; on a 3-D panel
    lifted onto the `ground` surface (never inside its mesh) when it is given."""
    return build.run_items([run], kind, scale, ground=ground)


def first_frame(items: Sequence) -> list:
    """The items of a run as the first frame of its animation: the path cut to its first
    point, the end hidden (one NaN point: the player hides it the same way); the start
    stays."""
    out = []
    for item in items:
        if isinstance(item, Path):
            out.append(
                replace(
                    item,
                    x=item.x[:1],
                    y=item.y[:1],
                    z=None if item.z is None else item.z[:1],
                    steps=None if item.steps is None else item.steps[:1],
                    values=None if item.values is None else item.values[:1],
                )
            )
        elif item.name in ("end", "diverged"):
            out.append(replace(item, x=np.array([np.nan]), y=np.array([np.nan])))
        else:
            out.append(item)
    return out


def run_legend() -> list[LegendEntry]:
    """What the start and end markers mean (the paths' own entries say how each run ended)."""
    return [
        LegendEntry("start", "marker", "start", "grey"),
        LegendEntry("end", "marker", "end", "grey"),
    ]


def bare_panel(kind: str = "plane") -> Panel:
    """An empty panel of the lab's axes: what a patch draws its items on."""
    return Panel(kind, (), x=Axis(W1), y=Axis(W2), z=Axis() if kind == "surface" else None)


def plane_panel(items: Sequence, box: np.ndarray, *, title: str = "", legend="below") -> Panel:
    """A 2-D panel over exactly the window, one unit as long on both axes."""
    return Panel(
        "plane",
        tuple(items),
        title=title,
        x=Axis(W1, tuple(box[0])),
        y=Axis(W2, tuple(box[1])),
        equal=True,
        legend=legend,
    )


# -- explorer -----------------------------------------------------------------------------------


def explorer_plane(
    land: Landscape, run: Run, minima: np.ndarray, gradient: GradientField | None
) -> Scene:
    """Filled contour, gradient arrows (empty when hidden), known minima, the run's path, start
    and end, then the legend of the markers."""
    ground = field(land)
    arrows = (
        build.gradient_arrows(gradient)
        if gradient is not None
        else Arrows(np.empty((0, 2)), np.empty((0, 2)), "gradient", name="gradient")
    )
    items = [ground, arrows, minima_item(minima), *run_items(run), *run_legend()]
    return Scene((plane_panel(items, ground.box),))


def explorer_surface(ground: Field, run: Run, minima: np.ndarray) -> Scene:
    """The surface (a Field drawn 'surface') in 3-D with the minima and the run lifted onto it
    (`Field.heights`: on the surface's own colour scale and never inside its mesh, so a patched
    path lands exactly where this one did)."""
    scale = ground.scale
    minima = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
    tops = ground.heights(minima, ground.at(minima)) if len(minima) else NO_POINTS
    items = [
        ground,
        minima_item(minima, tops),
        *run_items(run, "surface", scale, ground),
        *run_legend(),
    ]
    box = ground.box
    lift = 0.01 * (scale.hi - scale.lo)
    panel = Panel(
        "surface",
        tuple(items),
        x=Axis(W1, tuple(box[0])),
        y=Axis(W2, tuple(box[1])),
        # no z title: the colour bar beside names the height, and a 3-D axis title cannot be
        # moved off its tick labels (it ran into them at the explorer's steep camera)
        z=Axis("", (scale.lo, scale.hi + 2 * lift)),
    )
    return Scene((panel,))


# -- race and noise: several runs from one start ------------------------------------------------


def runs_scene(
    land: Landscape,
    runs: Sequence[Run],
    minima: np.ndarray,
    *,
    loss_panel: bool,
    first: bool = False,
) -> Scene:
    """The landscape with every run (path, start, end each) and, with `loss_panel`, the losses
    per step on the right (fixed ranges: an animation without redraw never rescales).
    `first`: the first frame of the animation (paths cut to their start, ends hidden)."""
    ground = field(land)
    items: list = [ground, minima_item(minima)]
    for run in runs:
        drawn = run_items(run)
        items += first_frame(drawn) if first else drawn
    panels = [plane_panel(items, ground.box)]
    if loss_panel:
        panels.append(loss_panel_of(runs, first=first))
    # The legend entries go last, after every run and loss: their number never moves a run.
    last = panels[-1]
    panels[-1] = replace(last, items=(*last.items, *run_legend()))
    widths = (0.58, 0.42) if loss_panel else None
    return Scene(tuple(panels), widths=widths)


def shown_losses(run: Run, log: bool) -> np.ndarray:
    """(k,) the losses as drawn: on a log axis a loss <= 0 sits on LOSS_FLOOR (the hover keeps
    the true value)."""
    return np.maximum(run.losses, LOSS_FLOOR) if log else run.losses


def loss_items(runs: Sequence[Run], *, first: bool = False) -> list[Path]:
    """One loss line per run (its shown_losses)."""
    log = loss_log(runs)
    items = []
    for run in runs:
        shown = shown_losses(run, log)
        n = 1 if first else len(shown)
        items.append(
            Path(
                run.steps[:n],
                shown[:n],
                style="loss",
                colour=run.colour,
                label=run.legend,
                show_legend=False,
                group=f"run-{run.group}",
                name="loss",
                steps=run.steps[:n],
                values=run.losses[:n],
            )
        )
    return items


def loss_log(runs: Sequence[Run]) -> bool:
    return all(np.all(run.losses >= 0) for run in runs)


def loss_axes(runs: Sequence[Run]) -> tuple[Axis, Axis]:
    """Step from 0 to the longest run; the loss range of every run with 5% room (in log10 on
    a log axis)."""
    longest = max((len(run.losses) for run in runs), default=2)
    log = loss_log(runs)
    values = np.concatenate([np.maximum(r.losses, LOSS_FLOOR) if log else r.losses for r in runs])
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = np.log10(lo), np.log10(hi)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    if log:
        lo, hi = 10.0**lo, 10.0**hi
    y = Axis("loss (log scale)" if log else "loss", (lo, hi), "log" if log else "linear")
    return Axis("step", (0.0, float(max(longest - 1, 1)))), y


def loss_panel_of(runs: Sequence[Run], *, first: bool = False) -> Panel:
    x, y = loss_axes(runs)
    return Panel("chart", tuple(loss_items(runs, first=first)), x=x, y=y, grid=True)


# -- basins -------------------------------------------------------------------------------------


def basin_field(basin_map: BasinMap) -> Field:
    """One colour per minimum, grey for 'no known minimum', black for 'diverged'."""
    k = len(basin_map.minima)
    labels = tuple(range(DIVERGED, k))
    categories = Categories(labels, tuple(style.basin_colour(i) for i in labels))
    x, y = (c.detach().cpu().double().numpy() for c in basin_map.coords)
    values = basin_map.labels.detach().cpu().numpy()
    return Field(x, y, values, "heatmap", categories=categories, colourbar=False, name="basins")


def basins_scene(maps: Sequence[tuple[str, BasinMap]], runs: Sequence[Run]) -> Scene:
    """Basin maps side by side, each with its run: 4 items a panel (map, path, start, end)."""
    panels = []
    for (title, basin_map), run in zip(maps, runs, strict=True):
        ground = basin_field(basin_map)
        path, start, end = run_items(run)
        items = [ground, replace(path, show_legend=False), start, end]
        panels.append(plane_panel(items, ground.box, title=title, legend="none"))
    return Scene(tuple(panels))


# -- curvature inspector ------------------------------------------------------------------------


def curvature_scene(
    land: Landscape, critical: Sequence[CriticalPoint], inspected: CriticalPoint
) -> Scene:
    """Critical points by kind (one item per kind, empty when none), the inspected point, its
    eigen-directions (attracting, repelling, flat: always three items) and their legend."""
    ground = field(land)
    items: list = [ground]
    for kind in CURVATURE_KINDS:
        chosen = np.array([p.point.tolist() for p in critical if p.kind == kind]).reshape(-1, 2)
        items.append(
            Markers(
                chosen[:, 0],
                chosen[:, 1],
                style=f"critical-{kind}",
                label=style.CRITICAL_TEXT[kind].removeprefix("critical point: "),
                show_legend=bool(len(chosen)),
                name=f"critical-{kind}",
            )
        )
    items += inspected_items(inspected, ground.box)
    items += [
        LegendEntry("attracting direction (curvature > 0)", "arrow", "attracting"),
        LegendEntry("repelling direction (curvature < 0)", "arrow", "repelling"),
    ]
    return Scene((plane_panel(items, ground.box),))


def inspected_items(point: CriticalPoint, box: np.ndarray) -> list:
    """The inspected point and its eigen-arrows: [point, attracting, repelling, flat]. Arrows
    point in along positive curvature, out along negative, longer for larger |eigenvalue|."""
    x, y = point.point.tolist()
    marker = Markers(
        np.array([x]),
        np.array([y]),
        style="point",
        label=f"inspected point ({point.kind})",
        name="point",
    )
    radius = EIGEN_RADIUS * float((box[:, 1] - box[:, 0]).max())
    arrows = _runs.eigen_arrows(point, radius)
    out: list = [marker]
    for kind in ("attracting", "repelling", "flat"):
        chosen = [a for a in arrows if _arrow_kind(a) == kind]
        tails = np.concatenate([a.tails for a in chosen]) if chosen else np.empty((0, 2))
        tips = np.concatenate([a.tips for a in chosen]) if chosen else np.empty((0, 2))
        out.append(Arrows(tails, tips, kind, name=f"eigen-{kind}"))
    return out


def _arrow_kind(arrow) -> str:
    if arrow.flat:
        return "flat"
    return "attracting" if arrow.eigenvalue > 0 else "repelling"


# -- descent in 1-D -----------------------------------------------------------------------------


def descent_scene(
    curve: Landscape,
    run: Run,
    values: np.ndarray,
    slopes: np.ndarray,
    step: int,
    minima: np.ndarray,
    tangent_half_width: float,
    curve_label: str = "f(x)",
) -> Scene:
    """f(x), its minima, the steps taken so far on the curve, the current point and its tangent
    (slope f'(x)): five items, in this order.

    curve: a 1-D Landscape of f; values, slopes (n,): f and f' at every step of the run."""
    (x,) = curve.coords
    f = curve.values["loss"].copy()
    f[~np.isfinite(f)] = np.nan
    min_values = interpolate(curve.coords, f, minima)
    items = [
        Path(x, f, style="curve", label=curve_label, name="curve"),
        Markers(minima[:, 0], min_values, style="minimum-1d", label="minima", name="minimum"),
        *descent_items(run, values, slopes, step, tangent_half_width),
    ]
    lo, hi = build._ylim(f, pad=0.08, top=0.12)
    x_axis, y_axis = Axis(X_1D, (float(x[0]), float(x[-1]))), Axis(Y_1D, (lo, hi))
    return Scene((Panel("chart", tuple(items), x=x_axis, y=y_axis),))


X_1D, Y_1D = "x (the one weight)", "loss f(x)"  # the 1-D chart's axes


def descent_panel() -> Panel:
    """The 1-D chart without items or ranges: what a click's patch draws the run on."""
    return Panel("chart", (), x=Axis(X_1D), y=Axis(Y_1D))


def descent_items(
    run: Run, values: np.ndarray, slopes: np.ndarray, step: int, tangent_half_width: float
) -> list:
    """The steps taken so far on the curve, the current point and its tangent: the last three
    items of `descent_scene`, all that a new start changes."""
    k = step + 1
    here = slice(step, step + 1)
    x0, y0, x1, y1 = tangent_ends(run.path[:, 0], values, slopes, tangent_half_width)
    return [
        Path(
            run.path[:k, 0],
            values[:k],
            style="path-1d",
            colour=run.colour,
            label="steps taken",
            name="path",
            steps=run.steps[:k],
            values=values[:k],
        ),
        Markers(
            run.path[here, 0],
            values[here],
            style="current",
            colour=run.colour,
            label="current x",
            name="head",
        ),
        Path(
            np.array([x0[step], x1[step]]),
            np.array([y0[step], y1[step]]),
            style="tangent",
            label="tangent, slope f'(x)",
            name="tangent",
        ),
    ]


def tangent_ends(x, f, slope, half_width: float) -> tuple[np.ndarray, ...]:
    """The tangent at every step as a short segment: (x0, y0, x1, y1), each (n,)."""
    h = half_width
    return x - h, f - h * slope, x + h, f + h * slope


# -- neural landscapes --------------------------------------------------------------------------


def lesson_panel(key: str, lesson, view: str, colour: str, path_label: str) -> Panel:
    """A model's landscape (a `networks.Lesson`) with its training path, start, end and marked
    points; items are named '<role>-<key>' ('landscape-linear', 'path-network', ...).
    view: 'contour' (a plane; one unit as long on both axes for raw weights) or '3d'."""
    x, y = lesson.landscape.coords
    loss = lesson.loss
    draw = "surface" if view == "3d" else "filled"
    scale = (ColourScale.of_surface if view == "3d" else ColourScale.of)(loss, lesson.log, "loss")
    ground = Field(
        x,
        y,
        loss,
        draw,
        scale,
        colourbar=view != "3d",
        name=f"landscape-{key}",
        value_name="loss",
    )
    path = np.asarray(lesson.path, dtype=np.float64)

    def height(points) -> np.ndarray | None:
        return ground.heights(points, ground.at(points)) if view == "3d" else None

    steps = np.arange(len(path))
    ends = (
        ("start", slice(0, 1), "start (initial weights)"),
        ("end", slice(-1, None), "end of training"),
    )
    items: list = [
        ground,
        Path(
            path[:, 0],
            path[:, 1],
            height(path),
            style="path-3d" if view == "3d" else "path",
            colour=colour,
            label=path_label,
            group="path",
            name=f"path-{key}",
            steps=steps,
            values=lesson.path_loss,
        ),
    ]
    for role, rows, label in ends:
        items.append(
            Markers(
                path[rows, 0],
                path[rows, 1],
                height(path[rows]),
                style=role,
                colour=colour,
                label=label,
                group=role,
                name=f"{role}-{key}",
            )
        )
    for j, (label, point) in enumerate(lesson.marks.items()):
        where = np.asarray(point, dtype=np.float64).reshape(1, 2)
        items.append(
            Markers(
                where[:, 0],
                where[:, 1],
                height(where),
                style=style.mark_style(j),
                label=label,
                group=label,
                name=f"mark-{key}-{j}",
            )
        )
    titles = lesson.axis_titles
    box = ground.box
    z = Axis("log10 loss" if lesson.log else "loss") if view == "3d" else None
    return Panel(
        "surface" if view == "3d" else "plane",
        tuple(items),
        title=lesson.title,
        x=Axis(titles[0], tuple(box[0])),
        y=Axis(titles[1], tuple(box[1])),
        z=z,
        equal=view != "3d" and not lesson.log,
    )


def lessons_scene(lessons, view: str) -> Scene:
    """Models side by side: lessons [(key, Lesson, path colour, path label)]. What the panels
    share (the path, start and end, a mark's label) has one legend entry."""
    panels = []
    seen: set[str] = set()
    for key, lesson, colour, label in lessons:
        panel = lesson_panel(key, lesson, view, colour, label)
        items = []
        for item in panel.items:
            if isinstance(item, Markers | Path) and item.label:
                item = replace(item, show_legend=item.label not in seen)
                seen.add(item.label)
            items.append(item)
        panels.append(replace(panel, items=tuple(items)))
    return Scene(tuple(panels))


def sweep_scene(sweep, figure: str, width: int, this_network: tuple[float, int] | None = None):
    """The width chart of one figure of a `WidthSweep` (`width_lesson.CHART` names them):
    bars of the mean over seeds at every width with whiskers of +-1 sd between seeds, the
    chosen width in the network's path colour and pointed at by a marker above its whisker
    (so it is found even where the bar has no height), and the network on the page as a dot
    on its bar. figure "barrier": two bars per width, before matching (light) and after.

    this_network: (its value of the figure, in the sweep's units, and its seed) or None.
    Items: [bars before matching,] bars, pointer, this network (maybe empty)."""
    chart = width_lesson.CHART[figure]
    chosen = style.OPTIMIZER_COLOURS["momentum"]
    labels = tuple(str(w) for w in sweep.widths.tolist())
    n_seeds = len(sweep.seeds)
    series = ("barrier_before", "barrier_after") if figure == "barrier" else (figure,)
    bars = []
    for k, name in enumerate(series):
        means, sds = chart.scale * sweep.mean(name), chart.scale * sweep.sd(name)
        light = len(series) > 1 and k == 0
        colours = tuple(
            (_tint(chosen) if light else chosen)
            if label == str(width)
            else (SWEEP_LIGHT if light else style.BAR_COLOUR)
            for label in labels
        )
        texts = tuple(
            f"width {label}: {m:{chart.fmt}} \u00b1 {d:{chart.fmt}}{_unit(chart)} "
            f"{_SERIES_WORDS.get(name, chart.label)}<br>mean \u00b1 sd of {n_seeds} seeds"
            for label, m, d in zip(labels, means, sds, strict=True)
        )
        bars.append(
            Bars(
                labels, means, colours, texts, name="sweep-before" if light else "sweep", errors=sds
            )
        )
    tops = np.max([b.heights + b.errors for b in bars], axis=0)  # (W,) the highest whisker
    value, seed = this_network if this_network is not None else (None, None)
    mine_y = None if value is None else chart.scale * value
    highest = max(float(np.max(tops)), mine_y or 0.0, 1e-12)
    gap = SWEEP_POINTER_SHARE * highest
    at = labels.index(str(width))
    pointer = Markers(
        np.array([labels[at]]),
        np.array([max(tops[at], mine_y or 0.0) + gap]),  # above the whisker and the dot
        style="pointer",
        colour=chosen,
        label="your width",
        show_legend=False,
        name="sweep-pointer",
    )
    mine = Markers(
        np.array([labels[at]] if mine_y is not None else [], dtype=object),
        np.array([mine_y] if mine_y is not None else [], dtype=np.float64),
        style="point",
        label=f"this network (seed {seed})" if mine_y is not None else "",
        show_legend=False,
        name="sweep-this",
    )
    # Room above the highest pointer, whisker or dot to read them; a floor a little below 0
    # so that a dot at 0 is seen whole.
    top = highest + (2.6 if figure == "barrier" else 2.2) * gap
    if chart.scale == 100:
        top = min(100.0, 10 * np.ceil(top / 10))
    panel = Panel(
        "chart",
        (*bars, pointer, mine),
        title=chart.title,
        x=Axis("width (neurons per layer)"),
        y=Axis(chart.axis, (-SWEEP_FLOOR_SHARE * top, top)),
        legend="none",
    )
    return Scene((panel,))


_SERIES_WORDS = {"barrier_before": "before matching", "barrier_after": "after matching"}


def _unit(chart) -> str:
    return " %" if chart.scale == 100 else ""


def _tint(colour: str, amount: float = 0.55) -> str:
    """`colour` (#rrggbb) mixed with white: the light twin of a chosen bar."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)
