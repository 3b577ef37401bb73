"""Static figures with matplotlib: contours, 3-D surfaces, 1-D curves, basin maps, the Hessian at a
point, loss curves and the optimizer race.

Every function takes `ax=None` (a new `matplotlib.figure.Figure` and Axes when None) and returns
the Axes it drew on, scikit-learn style; `race` returns its two-panel Figure. pyplot is never
imported: no global figure registry, no GUI backend, nothing is ever shown. Save with
`losslab.plot.export.save_figure(ax.figure, path)`.

Artists that tests and callers may want to find carry a gid: "losslab-path", "losslab-start",
"losslab-end", "losslab-diverged", "losslab-minimum", "losslab-critical-<kind>",
"losslab-gradient", "losslab-steps", "losslab-loss", "losslab-eigen".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from losslab.attraction import BasinMap
from losslab.curvature import CriticalPoint
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import _common as common
from losslab.plot._common import Run

CONTOUR_SIZE = (6.4, 5.6)
SURFACE_SIZE = (7.0, 5.8)
CURVE_SIZE = (7.5, 5.4)
LOSS_SIZE = (6.4, 4.6)
RACE_SIZE = (12.0, 5.4)

# A white marker with a black outline reads on every colour of the map.
_OUTLINE = [patheffects.Stroke(linewidth=3.5, foreground="black"), patheffects.Normal()]


# -- public functions ---------------------------------------------------------------------------


def landscape(
    objective: Objective,
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
    """The natural picture of an objective: `curve_1d` for 1 parameter, `contour` for 2.

    gradient_field and log apply to 2-D objectives only.
    """
    if getattr(objective, "n_params", None) == 1:
        return curve_1d(
            objective,
            trajectories=trajectories,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution or 400,
            ax=ax,
        )
    return contour(
        objective,
        trajectories=trajectories,
        gradient_field=gradient_field,
        minima=minima,
        critical_points=critical_points,
        bounds=bounds,
        resolution=resolution or 200,
        log=log,
        ax=ax,
    )


def contour(
    objective: Objective,
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
    """Filled contour of a 2-D objective over its window, with a colour bar.

    trajectories: a Trajectory (batched or not) or a list of them, drawn as paths with a circle
        at the start and a star at the end (a red x where a run diverged).
    gradient_field: arrows of the gradient direction (uphill, perpendicular to the contour
        lines) on a 20x20 grid. minima: mark the known minima. critical_points: CriticalPoints
        marked by kind. log: None follows objective.log_scale.
    The view stays on the window: paths that leave it are clipped, never rescale the axes.
    """
    all_runs = common.runs(trajectories, n_params=2)
    land = common.landscape_2d(objective, bounds, resolution, log)
    ax = ax if ax is not None else _new_axes(CONTOUR_SIZE)
    _draw_filled(ax, land)
    if gradient_field:
        _draw_gradient_field(ax, common.gradient_field(objective, land.box))
    _draw_critical_points(ax, critical_points)
    if minima:
        _draw_minima(ax, common.minima_array(objective))
    _draw_runs_2d(ax, all_runs)
    _frame(ax, land.box, title=getattr(objective, "name", ""))
    _legend(ax, all_runs, gradient=gradient_field)
    return ax


def surface_3d(
    objective: Objective,
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
    all_runs = common.runs(trajectories, n_params=2)
    land = common.landscape_2d(objective, bounds, resolution, log, what="surface_3d")
    if ax is None:
        ax = _new_axes(SURFACE_SIZE, projection="3d")
    elif getattr(ax, "name", "") != "3d":
        raise LosslabError(
            "surface_3d needs a 3-D Axes: create it with "
            "figure.add_subplot(projection='3d'), or pass ax=None."
        )
    col = land.colouring
    # Draw in call order (surface first, paths on top) instead of mplot3d's depth sort, which
    # hides paths that run along the surface.
    ax.computed_zorder = False
    X, Y = np.meshgrid(land.x, land.y)
    height = np.clip(col.z, col.lo, col.hi)  # NaN stays NaN: a hole, not a colour
    surf = ax.plot_surface(
        X,
        Y,
        height,
        cmap=common.CMAP,
        vmin=col.lo,
        vmax=col.hi,
        rstride=1,
        cstride=1,
        linewidth=0,
        antialiased=False,
        alpha=0.92,
        zorder=1,
    )
    lift = 0.01 * (col.hi - col.lo)  # a hair above the surface so the path is not z-fought
    floor = col.lo
    if minima:
        points = common.minima_array(objective)
        if len(points):
            z = _lifted(col, _values_at(objective, points)) + lift
            floor = min(floor, float(z.min()) - lift)
            ax.plot(
                points[:, 0],
                points[:, 1],
                z,
                ls="none",
                marker="P",
                ms=10,
                color="white",
                mec="black",
                label=common.MINIMUM_LABEL,
                gid="losslab-minimum",
                zorder=12,
                axlim_clip=True,
            )
    for run in all_runs:
        z = _lifted(col, run.losses) + lift
        x, y = run.path[:, 0], run.path[:, 1]
        inside = _inside(run.path, land.box)
        if inside.any():
            floor = min(floor, float(z[inside].min()) - lift)
        ax.plot(
            x,
            y,
            z,
            color=run.colour,
            lw=2.0,
            marker="o",
            ms=common.marker_size(len(x), 3.5),
            label=_legend_label(run),
            gid="losslab-path",
            zorder=10,
            axlim_clip=True,
        )
        ax.plot(
            x[:1],
            y[:1],
            z[:1],
            ls="none",
            marker="o",
            ms=9,
            color=run.colour,
            mec="white",
            gid="losslab-start",
            zorder=11,
            axlim_clip=True,
        )
        _end_marker_3d(ax, run, z[-1])
    ax.set_xlim(*land.box[0])
    ax.set_ylim(*land.box[1])
    ax.set_zlim(floor, col.hi + 2 * lift)
    xlabel, ylabel = common.axis_labels(2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_zlabel("loss f" if not col.log else "log10 loss")
    ax.set_title(getattr(objective, "name", ""))
    ax.figure.colorbar(surf, ax=ax, shrink=0.6, pad=0.08, label=col.label)
    if all_runs or (minima and len(common.minima_array(objective))):
        ax.legend(
            handles=_handles(ax) + _marker_proxies(all_runs),
            loc="upper left",
            fontsize=8,
            framealpha=0.85,
        )
    return ax


def curve_1d(
    objective: Objective,
    *,
    trajectories=(),
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 400,
    ax: Axes | None = None,
) -> Axes:
    """f(x) of a 1-D objective over its window with the descent steps on the curve.

    Each run is a thin line through its steps; the dots fade from pale (first step) to the
    run's colour (last step) so the order of the steps shows. A box per run gives the final
    x, f(x), f'(x) and the number of steps.
    """
    all_runs = common.runs(trajectories, n_params=1)
    curve = common.curve_1d_grid(objective, bounds, resolution)
    ax = ax if ax is not None else _new_axes(CURVE_SIZE)
    ax.plot(curve.x, curve.f, color="black", lw=1.6, label="f(x)", gid="losslab-curve", zorder=2)
    for kind, points in common.critical_groups(critical_points):
        marker, _, text = common.CRITICAL_MARKERS[kind]
        ax.plot(
            points[:, 0],
            _values_at(objective, points),
            ls="none",
            marker=marker,
            ms=8,
            mfc="white",
            mec="black",
            label=text,
            gid=f"losslab-critical-{kind}",
            zorder=6.5,
        )
    if minima:
        points = common.minima_array(objective)
        if len(points):
            ax.plot(
                points[:, 0],
                _values_at(objective, points),
                ls="none",
                marker="+",
                ms=20,
                mew=1.8,
                color="white",
                path_effects=_OUTLINE,
                label=common.MINIMUM_LABEL,
                gid="losslab-minimum",
                zorder=6,
            )
    for run in all_runs:
        x, f = run.path[:, 0], run.losses
        ax.plot(
            x,
            f,
            color=run.colour,
            lw=0.8,
            alpha=0.7,
            label=_legend_label(run),
            gid="losslab-path",
            zorder=3,
        )
        size = common.marker_size(len(x), 6.0) ** 2
        ax.scatter(
            x,
            f,
            c=common.ramp(run.colour, len(x)),
            s=size,
            edgecolors=run.colour,
            linewidths=0.6,
            gid="losslab-steps",
            zorder=4,
        )
        ax.plot(
            x[:1],
            f[:1],
            ls="none",
            marker="o",
            ms=8,
            color=run.colour,
            mec="white",
            gid="losslab-start",
            zorder=7,
        )
        _end_marker(ax, run, x[-1], f[-1])
    n_boxes = _annotate_finals(ax, objective, all_runs)
    ax.set_xlim(*curve.box[0])
    # Headroom above the curve for the boxes of final values.
    ax.set_ylim(*curve.ylim(top=0.08 + 0.1 * n_boxes))
    ax.set_xlabel(common.axis_labels(1)[0])
    ax.set_ylabel("loss f(x)")
    ax.set_title(getattr(objective, "name", ""))
    ax.grid(alpha=0.25)
    _below(ax, _handles(ax) + _marker_proxies(all_runs))
    return ax


def basin_map(
    basin_map: BasinMap, *, objective: Objective | None = None, ax: Axes | None = None
) -> Axes:
    """Where each start ends: one colour per minimum, grey for 'no known minimum', black for
    'diverged'; the legend gives the share of starts per basin. With `objective`, faint contour
    lines of it on top."""
    if not isinstance(basin_map, BasinMap):
        raise LosslabError(
            f"basin_map is a {type(basin_map).__name__}: give the BasinMap from losslab.basins."
        )
    n = len(basin_map.coords)
    entries = common.basin_entries(basin_map)
    colours = common.basin_colours(len(basin_map.minima))
    cmap = ListedColormap(colours)
    # labels -2..k-1 -> colour index 0..k+1, one bin per integer
    norm = BoundaryNorm(np.arange(-2.5, len(basin_map.minima)), cmap.N)
    labels = basin_map.labels.detach().cpu().numpy()
    coords = [c.detach().cpu().double().numpy() for c in basin_map.coords]
    box = np.array([[c[0], c[-1]] for c in coords])
    ax = ax if ax is not None else _new_axes(CONTOUR_SIZE if n == 2 else CURVE_SIZE)
    if n == 2:
        extent = (*_cell_edges(coords[0]), *_cell_edges(coords[1]))
        ax.imshow(
            labels.T,
            origin="lower",
            extent=extent,
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
            aspect="auto",
            gid="losslab-basins",
            zorder=1,
        )
        if objective is not None:
            land = common.landscape_2d(
                objective, box, min(len(coords[0]), 150), None, what="basin_map"
            )
            z = np.ma.masked_invalid(land.colouring.z)
            ax.contour(
                land.x,
                land.y,
                z,
                levels=land.colouring.levels(20),
                colors="black",
                linewidths=0.5,
                alpha=0.3,
                linestyles="solid",
                zorder=2,
            )
        minima = basin_map.minima.detach().cpu().double().numpy()
        if len(minima):
            ax.plot(
                minima[:, 0],
                minima[:, 1],
                ls="none",
                marker="+",
                ms=20,
                mew=1.8,
                color="white",
                path_effects=_OUTLINE,
                gid="losslab-minimum",
                zorder=5,
            )
        _frame(ax, box, title="")
    elif n == 1:
        _basin_strip(ax, basin_map, labels, coords[0], cmap, norm, objective)
    else:
        raise LosslabError(f"basin_map has {n} coordinates: only 1-D and 2-D maps can be drawn.")
    ax.set_title(common.basin_title(basin_map), fontsize=10)
    handles = [
        Patch(facecolor=e.colour, edgecolor="black", linewidth=0.5, label=e.text) for e in entries
    ]
    if len(basin_map.minima):
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="+",
                ms=14,
                mew=1.8,
                color="white",
                path_effects=_OUTLINE,
                label=common.MINIMUM_LABEL,
            )
        )
    _below(ax, handles, title="share of starts per basin", title_fontsize=8)
    return ax


def hessian_view(
    point: CriticalPoint,
    objective: Objective,
    *,
    radius: float | None = None,
    log: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """The objective around `point` (a CriticalPoint from losslab.inspect) with its Hessian's
    eigen-directions: blue arrows pointing in along positive curvature (attracting), red arrows
    pointing out along negative curvature (repelling), lengths scaled by |eigenvalue|; a box
    lists the eigenvalues, trace, det and kind.

    radius: half-width of the view (default a quarter of the objective's window). log: colour
    on a log scale (off by default: near a point the quadratic shape is what matters).
    """
    if not isinstance(point, CriticalPoint):
        raise LosslabError(
            f"point is a {type(point).__name__}: give a CriticalPoint from losslab.inspect."
        )
    box = common.hessian_box(point, objective, radius)
    arrows = common.eigen_arrows(point, float(box[0, 1] - box[0, 0]) / 2)
    ax = ax if ax is not None else _new_axes(CONTOUR_SIZE)
    centre = point.point.detach().cpu().double().numpy()
    if objective.n_params == 2:
        land = common.landscape_2d(objective, box, 120, log, what="hessian_view")
        _draw_filled(ax, land)
        for arrow in arrows:
            _draw_eigen_arrow(ax, arrow.tails, arrow.tips, arrow)
        ax.plot(
            *centre,
            ls="none",
            marker="o",
            ms=8,
            color="black",
            mec="white",
            zorder=6,
            label=f"{point.kind} at {common.point_text(centre)}",
            gid="losslab-point",
        )
        _frame(ax, land.box, title="")
    else:
        curve = common.curve_1d_grid(objective, box, 300)
        ax.plot(curve.x, curve.f, color="black", lw=1.6, label="f(x)", zorder=2)
        slope, curvature = float(point.gradient[0]), float(point.hessian[0, 0])
        dx = curve.x - centre[0]
        ax.plot(
            curve.x,
            point.value + slope * dx + 0.5 * curvature * dx**2,
            ls="--",
            color="grey",
            lw=1.2,
            label="quadratic model",
            zorder=2,
        )
        for arrow in arrows:
            # In 1-D the eigen-direction is the x axis: draw the arrows at the point's height.
            level = np.full((2, 1), point.value)
            _draw_eigen_arrow(
                ax, np.hstack([arrow.tails, level]), np.hstack([arrow.tips, level]), arrow
            )
        ax.plot(
            centre[0],
            point.value,
            ls="none",
            marker="o",
            ms=8,
            color="black",
            mec="white",
            zorder=6,
            label=f"{point.kind} at {common.point_text(centre)}",
            gid="losslab-point",
        )
        ax.set_xlim(*curve.box[0])
        ax.set_ylim(*curve.ylim(top=0.5))  # headroom: the text box sits above the curve
        ax.set_xlabel(common.axis_labels(1)[0])
        ax.set_ylabel("loss f(x)")
        ax.grid(alpha=0.25)
    ax.set_title(common.hessian_title(point, objective), fontsize=10)
    ax.text(
        0.02,
        0.98,
        common.hessian_text(point),
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=8,
        family="monospace",
        zorder=10,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.88},
    )
    handles = _handles(ax) + [
        Line2D([], [], color=a.colour, lw=2.5, ls="--" if a.flat else "-", label=a.text)
        for a in arrows
    ]
    _below(ax, handles)
    return ax


def loss_curves(trajectories, *, log: bool = True, ax: Axes | None = None) -> Axes:
    """Loss against step, one line per run; a red x where a run diverged.

    log: a log y axis when every loss is > 0, a symmetric-log axis when some are <= 0.
    """
    all_runs = common.runs(trajectories)
    if not all_runs:
        raise LosslabError(
            "loss_curves needs at least one trajectory: give the result of "
            "losslab.descend or losslab.race."
        )
    ax = ax if ax is not None else _new_axes(LOSS_SIZE)
    for run in all_runs:
        ax.plot(
            run.steps,
            run.losses,
            color=run.colour,
            lw=1.5,
            label=_legend_label(run),
            gid="losslab-loss",
        )
        if run.diverged:
            ax.plot(
                run.steps[-1:],
                run.losses[-1:],
                ls="none",
                marker="x",
                ms=10,
                mew=2.5,
                color=common.DIVERGED_COLOUR,
                gid="losslab-diverged",
                zorder=5,
            )
    scale = common.loss_scale(all_runs, log)
    ylabel = "loss"
    if scale == "log":
        # A loss of exactly 0 (Newton on a quadratic) has no logarithm: clip it to the bottom
        # edge, where the curve drops out of view, and say so.
        ax.set_yscale("log", nonpositive="clip")
        if any(np.any(run.losses == 0) for run in all_runs):
            ylabel = "loss (log; a loss of 0 falls off the bottom)"
    elif scale == "symlog":
        threshold = common.symlog_threshold(all_runs)
        ax.set_yscale("symlog", linthresh=threshold)
        ylabel = f"loss (symmetric log, linear within \u00b1{common.number(threshold, 2)})"
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, max(1, max(int(run.steps[-1]) for run in all_runs)))
    ax.set_title("loss per step")
    ax.grid(alpha=0.3, which="both" if scale == "log" else "major")
    handles = _handles(ax)
    if any(run.diverged for run in all_runs):
        handles.append(_diverged_proxy())
    ax.legend(
        handles=handles,
        loc="best" if len(all_runs) <= 10 else "upper right",
        fontsize=8,
        framealpha=0.85,
    )
    return ax


def race(objective: Objective, trajectories, *, bounds=None, log: bool | None = None) -> Figure:
    """One Figure: the paths on the landscape (left) and the loss curves (right)."""
    all_runs = common.runs(trajectories, n_params=getattr(objective, "n_params", None))
    figure = Figure(figsize=RACE_SIZE, layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=[1.1, 1.0])
    landscape(objective, trajectories=trajectories, bounds=bounds, log=log, ax=left)
    loss_curves(trajectories, ax=right)
    name = getattr(objective, "name", "")
    if all_runs:
        starts = {common.point_text(run.start) for run in all_runs}
        where = f" from {starts.pop()}" if len(starts) == 1 else ""
        figure.suptitle(f"optimizer race on {name}{where}")
    return figure


# -- drawing helpers ----------------------------------------------------------------------------


def _new_axes(size: tuple[float, float], projection: str | None = None) -> Axes:
    figure = Figure(figsize=size, layout="constrained")
    return figure.add_subplot(projection=projection)


def _draw_filled(ax: Axes, land: common.Landscape2D) -> None:
    """Filled contours + thin lines + colour bar. Non-finite values are masked (blank)."""
    col = land.colouring
    z = np.ma.masked_invalid(col.z)
    levels = col.levels()
    extend = "min" if col.clipped_below else "neither"
    filled = ax.contourf(
        land.x, land.y, z, levels=levels, cmap=common.CMAP, extend=extend, zorder=0
    )
    ax.contour(
        land.x,
        land.y,
        z,
        levels=levels[::2],
        colors="black",
        linewidths=0.4,
        alpha=0.35,
        linestyles="solid",
        zorder=1,
    )
    _colour_bar(ax, filled, col)


def _colour_bar(ax: Axes, mappable, col: common.Colouring) -> None:
    """A colour bar as an inset beside the Axes: it keeps the Axes' drawn height even under an
    equal aspect ratio, and constrained layout makes room for it. Ticks at round values."""
    cax = ax.inset_axes([1.03, 0.0, 0.045, 1.0])
    bar = ax.figure.colorbar(mappable, cax=cax)
    bar.set_label(col.label, fontsize=9)
    ticks = MaxNLocator(nbins=7).tick_values(col.lo, col.hi)
    bar.set_ticks(ticks[(ticks >= col.lo - 1e-12) & (ticks <= col.hi + 1e-12)])
    bar.ax.tick_params(labelsize=8)


def _draw_gradient_field(ax: Axes, field: common.GradientField) -> None:
    length = field.length
    ax.quiver(
        field.X,
        field.Y,
        field.U * length,
        field.V * length,
        angles="xy",
        scale_units="xy",
        scale=1,
        pivot="middle",
        color="white",
        edgecolor="black",
        linewidth=0.4,
        width=0.0045,
        headwidth=4,
        headlength=4.5,
        zorder=3,
        gid="losslab-gradient",
    )


def _draw_critical_points(ax: Axes, points) -> None:
    for kind, where in common.critical_groups(points):
        marker, _, text = common.CRITICAL_MARKERS[kind]
        ax.plot(
            where[:, 0],
            where[:, 1],
            ls="none",
            marker=marker,
            ms=9,
            mfc="white",
            mec="black",
            mew=1.2,
            label=text,
            gid=f"losslab-critical-{kind}",
            zorder=6.5,
        )


def _draw_minima(ax: Axes, minima: np.ndarray) -> None:
    if len(minima):
        ax.plot(
            minima[:, 0],
            minima[:, 1],
            ls="none",
            marker="+",
            ms=20,
            mew=1.8,
            color="white",
            path_effects=_OUTLINE,
            label=common.MINIMUM_LABEL,
            gid="losslab-minimum",
            zorder=6,
        )


def _draw_runs_2d(ax: Axes, all_runs: Sequence[Run]) -> None:
    for run in all_runs:
        x, y = run.path[:, 0], run.path[:, 1]
        ax.plot(
            x,
            y,
            color=run.colour,
            lw=1.4,
            marker="o",
            ms=common.marker_size(len(x), 3.5),
            label=_legend_label(run),
            gid="losslab-path",
            zorder=7,
        )
        ax.plot(
            x[:1],
            y[:1],
            ls="none",
            marker="o",
            ms=9,
            color=run.colour,
            mec="white",
            mew=1.5,
            gid="losslab-start",
            zorder=8,
        )
        _end_marker(ax, run, x[-1], y[-1])


def _end_marker(ax: Axes, run: Run, x: float, y: float) -> None:
    if run.diverged:
        ax.plot(
            [x],
            [y],
            ls="none",
            marker="x",
            ms=11,
            mew=2.8,
            color=common.DIVERGED_COLOUR,
            gid="losslab-diverged",
            zorder=9,
        )
    else:
        ax.plot(
            [x],
            [y],
            ls="none",
            marker="*",
            ms=15,
            color=run.colour,
            mec="black",
            mew=0.8,
            gid="losslab-end",
            zorder=9,
        )


def _end_marker_3d(ax: Axes, run: Run, z: float) -> None:
    x, y = run.end
    if run.diverged:
        ax.plot(
            [x],
            [y],
            [z],
            ls="none",
            marker="x",
            ms=11,
            mew=2.8,
            color=common.DIVERGED_COLOUR,
            gid="losslab-diverged",
            zorder=12,
            axlim_clip=True,
        )
    else:
        ax.plot(
            [x],
            [y],
            [z],
            ls="none",
            marker="*",
            ms=15,
            color=run.colour,
            mec="black",
            mew=0.8,
            gid="losslab-end",
            zorder=12,
            axlim_clip=True,
        )


def _draw_eigen_arrow(
    ax: Axes, tails: np.ndarray, tips: np.ndarray, arrow: common.EigenArrow
) -> None:
    for tail, tip in zip(tails, tips, strict=True):
        if arrow.flat:
            ax.plot(
                [tail[0], tip[0]],
                [tail[1], tip[1]],
                ls="--",
                lw=2.0,
                color=arrow.colour,
                gid="losslab-eigen",
                zorder=5,
            )
            continue
        annotation = ax.annotate(
            "",
            xy=tuple(tip),
            xytext=tuple(tail),
            zorder=5,
            arrowprops={
                "arrowstyle": "-|>",
                "color": arrow.colour,
                "lw": 2.5,
                "mutation_scale": 18,
                "shrinkA": 5,
                "shrinkB": 5,
            },
        )
        annotation.set_gid("losslab-eigen")


def _annotate_finals(ax: Axes, objective: Objective, all_runs: Sequence[Run]) -> int:
    """One line per run (at most 6): final x, f(x), f'(x) and steps, in the run's colour.
    Returns how many lines of text it wrote."""
    shown = all_runs[:6]
    if not shown:
        return 0
    values, grads = common.derivative_at(objective, np.stack([run.end for run in shown]))
    for i, (run, value, grad) in enumerate(zip(shown, values, grads, strict=True)):
        text = (
            f"{run.label}: x = {common.number(run.end[0])}, f(x) = {common.number(value)}, "
            f"f'(x) = {common.number(grad[0])}, steps = {run.stopped_at}"
        )
        if run.diverged:
            text += f" ({common.status_text(run.status, run.stopped_at)})"
        ax.text(
            0.02,
            0.97 - 0.065 * i,
            text,
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=8,
            color=run.colour,
            zorder=10,
            bbox={
                "boxstyle": "round,pad=0.2",
                "facecolor": "white",
                "alpha": 0.85,
                "edgecolor": run.colour,
            },
        )
    if len(all_runs) > len(shown):
        ax.text(
            0.02,
            0.97 - 0.065 * len(shown),
            f"... and {len(all_runs) - len(shown)} more",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
        )
        return len(shown) + 1
    return len(shown)


def _basin_strip(
    ax: Axes,
    basin_map: BasinMap,
    labels: np.ndarray,
    x: np.ndarray,
    cmap: ListedColormap,
    norm: BoundaryNorm,
    objective: Objective | None,
) -> None:
    """A 1-D basin map: a colour band along x, under the curve when an objective is given."""
    box = np.array([[x[0], x[-1]]])
    if objective is not None:
        curve = common.curve_1d_grid(objective, box, 400)
        lo, hi = curve.ylim()
        ax.plot(curve.x, curve.f, color="black", lw=1.6, zorder=3)
    else:
        lo, hi = 0.0, 1.0
        ax.set_yticks([])
    ax.imshow(
        labels[None, :],
        origin="lower",
        extent=(*_cell_edges(x), lo, hi),
        cmap=cmap,
        norm=norm,
        interpolation="nearest",
        aspect="auto",
        alpha=0.8,
        gid="losslab-basins",
        zorder=1,
    )
    minima = basin_map.minima.detach().cpu().double().numpy()
    if len(minima):
        y = _values_at(objective, minima) if objective is not None else np.full(len(minima), 0.5)
        ax.plot(
            minima[:, 0],
            y,
            ls="none",
            marker="+",
            ms=20,
            mew=1.8,
            color="white",
            path_effects=_OUTLINE,
            gid="losslab-minimum",
            zorder=5,
        )
    ax.set_xlim(*_cell_edges(x))
    ax.set_ylim(lo, hi)
    ax.set_xlabel(common.axis_labels(1)[0])
    if objective is not None:
        ax.set_ylabel("loss f(x)")


def _cell_edges(centres: np.ndarray) -> tuple[float, float]:
    """Outer edges of a regular grid of cell centres, so each cell is centred on its point."""
    half = 0.5 * (centres[-1] - centres[0]) / max(len(centres) - 1, 1)
    return float(centres[0] - half), float(centres[-1] + half)


def _lifted(col: common.Colouring, losses: np.ndarray) -> np.ndarray:
    """Heights of losses on the 3-D surface: the loss itself (a run may go below the grid's
    lowest point: the z range grows to show it), or on a log surface its log clipped to the
    colour range, as the surface is."""
    z = col.transform(losses)
    return np.clip(z, col.lo, col.hi) if col.log else z


def _inside(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(k,) True where a point (k, n) lies in the window (n, 2)."""
    return ((points >= box[:, 0]) & (points <= box[:, 1])).all(axis=-1)


def _values_at(objective: Objective, points: np.ndarray) -> np.ndarray:
    values, _ = common.derivative_at(objective, points)
    return values


def _frame(ax: Axes, box: np.ndarray, *, title: str) -> None:
    """Axis labels, the window as the limits, and equal scales when the window is not too
    elongated, so that the gradient looks perpendicular to the contour lines."""
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    width, height = box[0, 1] - box[0, 0], box[1, 1] - box[1, 0]
    if 1 / 3 <= width / height <= 3:
        ax.set_aspect("equal", adjustable="box")
    xlabel, ylabel = common.axis_labels(2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def _legend_label(run: Run) -> str:
    return run.legend if run.show_legend else "_nolegend_"


def _handles(ax: Axes) -> list:
    handles, _ = ax.get_legend_handles_labels()
    return handles


def _diverged_proxy() -> Line2D:
    return Line2D(
        [], [], ls="none", marker="x", ms=9, mew=2.5, color=common.DIVERGED_COLOUR, label="diverged"
    )


def _marker_proxies(all_runs: Sequence[Run]) -> list[Line2D]:
    """Legend entries that explain the start and end markers (and the red x when needed)."""
    if not all_runs:
        return []
    proxies = [
        Line2D([], [], ls="none", marker="o", ms=8, color="grey", mec="white", label="start"),
        Line2D([], [], ls="none", marker="*", ms=12, color="grey", mec="black", label="end"),
    ]
    if any(run.diverged for run in all_runs):
        proxies.append(_diverged_proxy())
    return proxies


def _below(ax: Axes, handles: list, **kwargs) -> None:
    """A legend under the Axes so it never hides the landscape; two columns only when the
    labels are short enough for both to fit under the Axes."""
    longest = max(len(h.get_label()) for h in handles)
    ncols = 2 if len(handles) > 2 and longest <= 30 else 1
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.11),
        ncols=ncols,
        fontsize=8,
        frameon=False,
        **kwargs,
    )


def _legend(ax: Axes, all_runs: Sequence[Run], *, gradient: bool) -> None:
    """The contour legend: what the markers mean, one entry per run."""
    handles = _handles(ax)
    if gradient:
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker=r"$\rightarrow$",
                ms=14,
                color="black",
                label=common.GRADIENT_LABEL,
            )
        )
    handles += _marker_proxies(all_runs)
    if handles:
        _below(ax, handles)


# Views of a computed Landscape (a slice through a network's loss) live in their own module,
# re-exported here so that this module offers every picture under one name.
from losslab.plot.slices import (  # noqa: E402, F401
    slice_contour,
    slice_curve,
    slice_surface,
    slice_view,
)
from losslab.plot.spectrum import spectrum  # noqa: E402, F401
