"""Static (matplotlib) views of a `Landscape`: a slice through the loss of a network (or any
model) along one or two directions.

- `slice_view`: the natural picture. A 2-D slice is a Figure with a 3-D surface (left) and a
  filled contour (right); a 1-D slice is the curve of the loss with the accuracy on a twin axis.
- `slice_contour`, `slice_surface`, `slice_curve`: the single views, each taking `ax=None`
  (a new Figure when None) and returning the Axes it drew on, like the rest of
  `losslab.plot.static`.

Every view marks the origin (the point the slice is centred on, usually the trained weights)
and the best grid point; optionally a training trajectory projected into the slice (start
and end marked; the parts outside the window are cut, the axes never grow to follow them),
the anchors of an interpolation (metadata kind 'toward' or 'plane'), and labelled points
(`mark={"normal equation": w}`, parameter vectors projected like the trajectory).

pyplot is never imported; nothing is shown. Save with
`losslab.plot.export.save_figure(fig, "slice.png")`.

Artists carry gids: "losslab-landscape", "losslab-origin", "losslab-best",
"losslab-trajectory", "losslab-start", "losslab-end", "losslab-anchor", "losslab-mark",
"losslab-curve", "losslab-secondary".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from losslab.errors import LosslabError
from losslab.plot import _common as common
from losslab.plot import _slices as sl_

VIEW_SIZE = (13.0, 5.8)
CONTOUR_SIZE = (6.6, 5.8)
SURFACE_SIZE = (7.0, 5.8)
CURVE_SIZE = (7.5, 5.0)

_OUTLINE = [patheffects.Stroke(linewidth=3.5, foreground="black"), patheffects.Normal()]


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
    for 1 direction.

    metric: which of `landscape.values` to draw ('loss', 'accuracy', ...).
    log: colour (and height) by log10 of the metric (2-D only; a 1-D curve gets a log y-axis).
    trajectory: a TrainingRun (its `params`) or an array (T, n_params) of parameter vectors,
        projected with `landscape.project`.
    mark: {label: parameter vector} points to mark, e.g. {"normal equation": (w1, w2)}.
    """
    data = sl_.slice_of(landscape, metric)
    if data.ndim == 1:
        ax = slice_curve(landscape, metric=metric, log=log, trajectory=trajectory, mark=mark)
        if title:
            ax.set_title(title)
        return ax.figure
    figure = Figure(figsize=VIEW_SIZE, layout="constrained")
    left = figure.add_subplot(1, 2, 1, projection="3d")
    right = figure.add_subplot(1, 2, 2)
    slice_surface(landscape, metric=metric, log=log, trajectory=trajectory, mark=mark, ax=left)
    slice_contour(landscape, metric=metric, log=log, trajectory=trajectory, mark=mark, ax=right)
    left.set_title("")
    right.set_title("")
    figure.suptitle(title or sl_.full_title(data, log))
    return figure


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
    data = sl_.two_d(landscape, metric, "slice_contour")
    col = sl_.colouring(data, log)
    ax = ax if ax is not None else _new_axes(CONTOUR_SIZE)
    x, y = data.coords
    z = np.ma.masked_invalid(col.z.T)  # 'ij' -> 'xy': z[j, i] at (x[i], y[j])
    levels = col.levels()
    filled = ax.contourf(
        x,
        y,
        z,
        levels=levels,
        cmap=common.CMAP,
        extend="min" if col.clipped_below else "neither",
        zorder=0,
    )
    filled.set_gid("losslab-landscape")
    ax.contour(
        x,
        y,
        z,
        levels=levels[::2],
        colors="black",
        linewidths=0.4,
        alpha=0.35,
        linestyles="solid",
        zorder=1,
    )
    _colour_bar(ax, filled, col)
    for item in sl_.overlays(landscape, data, trajectory=trajectory, mark=mark):
        _draw(ax, item, item.points[:, 0], item.points[:, 1], zorder=6)
    box = data.box
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    width, height = np.ptp(box[0]), np.ptp(box[1])
    if height > 0 and 1 / 3 <= width / height <= 3:
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(data.labels[0])
    ax.set_ylabel(data.labels[1])
    ax.set_title(sl_.full_title(data, log))
    _legend_below(ax)
    return ax


def slice_surface(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A 2-D slice as a 3-D surface (height = the metric, or its log10), with the origin, the
    best grid point and a projected trajectory lifted onto the surface (its height is the
    slice's value there, interpolated). `ax` must be a 3-D Axes when given."""
    data = sl_.two_d(landscape, metric, "slice_surface")
    col = sl_.colouring(data, log)
    alone = ax is None  # a figure of its own gets a legend; slice_view puts it by the contour
    if ax is None:
        ax = _new_axes(SURFACE_SIZE, projection="3d")
    elif getattr(ax, "name", "") != "3d":
        raise LosslabError(
            "slice_surface needs a 3-D Axes: create it with "
            "figure.add_subplot(projection='3d'), or pass ax=None."
        )
    ax.computed_zorder = False  # draw in call order: markers stay on top of the surface
    x, y = data.coords
    X, Y = np.meshgrid(x, y)
    height = np.clip(col.z.T, col.lo, col.hi)
    surface = ax.plot_surface(
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
        gid="losslab-landscape",
    )
    lift = 0.01 * (col.hi - col.lo)  # a hair above the surface, so markers are not hidden
    for item in sl_.overlays(landscape, data, trajectory=trajectory, mark=mark):
        z = np.clip(col.transform(sl_.interpolate(data, item.points)), col.lo, col.hi) + lift
        _draw(ax, item, item.points[:, 0], item.points[:, 1], z, zorder=10)
    ax.set_xlim(*data.box[0])
    ax.set_ylim(*data.box[1])
    ax.set_zlim(col.lo, col.hi + 2 * lift)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(_short(data.labels[0]), fontsize=8)
    ax.set_ylabel(_short(data.labels[1]), fontsize=8)
    ax.set_zlabel(data.value_label(col.log))
    ax.set_title(sl_.full_title(data, log))
    ax.figure.colorbar(surface, ax=ax, shrink=0.6, pad=0.1, label=col.label)
    if alone:
        _legend_below(ax)
    return ax


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
    the landscape has it and `metric` is a loss). Marks the origin, the best grid point, and
    for an interpolation (kind 'toward') its end points at 0 and 1. Returns the main Axes (the
    twin, when drawn, is the other Axes of `ax.figure` sharing its x-axis)."""
    data = sl_.slice_of(landscape, metric)
    if data.ndim != 1:
        raise LosslabError(
            f"slice_curve needs a 1-D landscape; this one has {data.ndim} directions: "
            "use slice_contour or slice_surface (or slice_view, which picks)."
        )
    ax = ax if ax is not None else _new_axes(CURVE_SIZE)
    (x,) = data.coords
    ax.plot(
        x,
        data.values,
        color=sl_.LOSS_COLOUR,
        lw=1.8,
        label=metric,
        gid="losslab-curve",
        zorder=3,
    )
    if log:
        finite = data.values[np.isfinite(data.values)]
        if len(finite) and finite.min() > 0:
            ax.set_yscale("log")
        else:
            ax.set_yscale("symlog", linthresh=1e-3)
    for item in sl_.overlays(landscape, data, trajectory=trajectory, mark=mark):
        if item.kind == "anchor":
            ax.axvline(float(item.points[0, 0]), color="black", lw=0.8, ls=":", zorder=2)
        _draw(ax, item, item.points[:, 0], sl_.interpolate(data, item.points), zorder=6)
    secondary = None
    other = sl_.secondary_metric(landscape, metric)
    if other is not None:
        extra = sl_.slice_of(landscape, other)
        secondary = ax.twinx()
        secondary.plot(
            x,
            extra.values,
            color=sl_.ACCURACY_COLOUR,
            lw=1.4,
            ls="--",
            label=other,
            gid="losslab-secondary",
        )
        secondary.set_ylabel(other, color=sl_.ACCURACY_COLOUR)
        secondary.tick_params(axis="y", colors=sl_.ACCURACY_COLOUR)
    ax.set_xlim(*data.box[0])
    ax.set_xlabel(data.labels[0])
    ax.set_ylabel(metric + (" (log scale)" if log else ""), color=sl_.LOSS_COLOUR)
    ax.set_title(sl_.full_title(data, False))
    ax.grid(alpha=0.25)
    handles = ax.get_legend_handles_labels()[0]
    if secondary is not None:
        handles += secondary.get_legend_handles_labels()[0]
    _below(ax, handles + _end_proxies(ax))
    return ax


# -- helpers ------------------------------------------------------------------------------------


def _short(label: str) -> str:
    """A 3-D axis has little room: break a long label before its parenthesis."""
    return label.replace(" (", "\n(", 1) if len(label) > 24 else label


def _new_axes(size: tuple[float, float], projection: str | None = None) -> Axes:
    figure = Figure(figsize=size, layout="constrained")
    return figure.add_subplot(projection=projection)


def _colour_bar(ax: Axes, mappable, col: common.Colouring) -> None:
    cax = ax.inset_axes([1.03, 0.0, 0.045, 1.0])
    bar = ax.figure.colorbar(mappable, cax=cax)
    bar.set_label(col.label, fontsize=9)
    ticks = MaxNLocator(nbins=7).tick_values(col.lo, col.hi)
    bar.set_ticks(ticks[(ticks >= col.lo - 1e-12) & (ticks <= col.hi + 1e-12)])
    bar.ax.tick_params(labelsize=8)


def _style(item: sl_.Overlay) -> dict[str, Any]:
    """matplotlib keywords for one overlay (the same look in every view)."""
    i = item.index
    return {
        # A ring: the trajectory's end usually sits on the origin, and shows through it.
        "origin": {"marker": "o", "ms": 15, "mfc": "none", "mec": "black", "mew": 2.0},
        "best": {"marker": "*", "ms": 15, "color": "white", "mec": "black"},
        "anchor": {"marker": sl_.ANCHOR_MARKERS[i % 3], "ms": 9, "color": "black", "mec": "white"},
        "mark": {
            "marker": sl_.MARK_MARKERS[i % 6],
            "ms": 12,
            "color": sl_.MARK_COLOURS[i % 6],
            "mec": "black",
        },
        "start": {"marker": "o", "ms": 10, "color": sl_.TRAJECTORY_COLOUR, "mec": "white"},
        "end": {"marker": "X", "ms": 11, "color": sl_.TRAJECTORY_COLOUR, "mec": "white"},
    }[item.kind]


def _draw(ax: Axes, item: sl_.Overlay, *xyz: np.ndarray, zorder: float) -> None:
    """One overlay on a 2-D, 3-D or curve Axes; its gid is 'losslab-<kind>'."""
    gid = f"losslab-{item.kind}"
    if item.kind == "trajectory":
        ax.plot(
            *xyz,
            color=sl_.TRAJECTORY_COLOUR,
            lw=1.6,
            marker="o",
            ms=common.marker_size(len(item.points), 3.5),
            label=item.label,
            gid=gid,
            zorder=zorder,
        )
        return
    on_top = zorder + (3 if item.kind in ("start", "end") else 2)
    label = item.label if item.kind not in ("start", "end") else "_nolegend_"
    ax.plot(*xyz, ls="none", label=label, gid=gid, zorder=on_top, **_style(item))


def _end_proxies(ax: Axes) -> list[Line2D]:
    """Legend entries for the trajectory's start and end markers, when they were drawn."""
    drawn = {line.get_gid() for line in ax.lines}
    return [
        Line2D([], [], ls="none", label=kind, **_style(sl_.Overlay(kind, kind, np.zeros((1, 1)))))
        for kind in ("start", "end")
        if f"losslab-{kind}" in drawn
    ]


def _legend_below(ax: Axes) -> None:
    handles = ax.get_legend_handles_labels()[0] + _end_proxies(ax)
    if handles:
        _below(ax, handles)


def _below(ax: Axes, handles: list) -> None:
    longest = max(len(h.get_label()) for h in handles)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncols=2 if len(handles) > 2 and longest <= 34 else 1,
        fontsize=8,
        frameon=False,
    )
