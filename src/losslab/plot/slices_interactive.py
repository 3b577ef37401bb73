"""Interactive (plotly) views of a `Landscape`, under the same names as `losslab.plot.slices`:

- `slice_view`: a 2-D slice as a 3-D surface and a filled contour side by side (one figure, two
  subplots, one colour bar), a 1-D slice as the curve with the accuracy on a second y-axis.
- `slice_contour`, `slice_surface`, `slice_curve`: the single views.

Same overlays as the static views (origin, best grid point, interpolation anchors, marked
points, a projected trajectory cut at the window's edge). Traces carry a `meta` tag:
"landscape", "curve", "secondary", "origin", "best", "anchor", "mark", "trajectory", "start",
"end". Nothing is shown; save with `losslab.plot.export.save_figure(fig, "slice.html")`
(self-contained, works offline).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from losslab.errors import LosslabError
from losslab.plot import _common as common
from losslab.plot import _slices as sl_

HEIGHT = 640
VIEW_WIDTH = 1300
_LEGEND_BELOW = {
    "orientation": "h",
    "x": 0.5,
    "xanchor": "center",
    "y": -0.12,
    "yanchor": "top",
    "font": {"size": 11},
}


def slice_view(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> go.Figure:
    """The picture of a Landscape: 3-D surface (left) and filled contour (right) for two
    directions, the curve for one. Arguments as `losslab.plot.slices.slice_view`."""
    data = sl_.slice_of(landscape, metric)
    if data.ndim == 1:
        fig = slice_curve(landscape, metric=metric, log=log, trajectory=trajectory, mark=mark)
        if title:
            fig.update_layout(title={"text": title})
        return fig
    col = sl_.colouring(data, log)
    items = sl_.overlays(landscape, data, trajectory=trajectory, mark=mark)
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "scene"}, {"type": "xy"}]],
        column_widths=[0.5, 0.5],
        horizontal_spacing=0.08,
    )
    _layout(fig, title or sl_.full_title(data, log))
    fig.update_layout(width=VIEW_WIDTH)
    fig.add_trace(_surface_trace(data, col, colorbar=False), row=1, col=1)
    for trace in _overlay_traces_3d(data, col, items, legend=False):
        fig.add_trace(trace, row=1, col=1)
    fig.add_trace(_contour_trace(data, col), row=1, col=2)
    for trace in _overlay_traces_2d(items):
        fig.add_trace(trace, row=1, col=2)
    _scene(fig, data, col, "scene")
    _axes_2d(fig, data, row=1, col=2)
    return fig


def slice_contour(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
) -> go.Figure:
    """Filled contour of a 2-D slice with the overlays."""
    data = sl_.two_d(landscape, metric, "slice_contour")
    col = sl_.colouring(data, log)
    fig = go.Figure()
    _layout(fig, sl_.full_title(data, log))
    fig.add_trace(_contour_trace(data, col))
    for trace in _overlay_traces_2d(
        sl_.overlays(landscape, data, trajectory=trajectory, mark=mark)
    ):
        fig.add_trace(trace)
    _axes_2d(fig, data)
    return fig


def slice_surface(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
) -> go.Figure:
    """A 2-D slice as a 3-D surface with the overlays lifted onto it."""
    data = sl_.two_d(landscape, metric, "slice_surface")
    col = sl_.colouring(data, log)
    fig = go.Figure()
    _layout(fig, sl_.full_title(data, log))
    fig.add_trace(_surface_trace(data, col, colorbar=True))
    items = sl_.overlays(landscape, data, trajectory=trajectory, mark=mark)
    for trace in _overlay_traces_3d(data, col, items, legend=True):
        fig.add_trace(trace)
    _scene(fig, data, col, "scene")
    return fig


def slice_curve(
    landscape,
    *,
    metric: str = "loss",
    log: bool = False,
    trajectory=None,
    mark: Mapping[str, Any] | None = None,
) -> go.Figure:
    """A 1-D slice: the metric along the direction, and the accuracy on a second y-axis (when
    the landscape has it and `metric` is a loss); log: a log y-axis for the metric."""
    data = sl_.slice_of(landscape, metric)
    if data.ndim != 1:
        raise LosslabError(
            f"slice_curve needs a 1-D landscape; this one has {data.ndim} directions: "
            "use slice_contour or slice_surface (or slice_view, which picks)."
        )
    other = sl_.secondary_metric(landscape, metric)
    fig = make_subplots(specs=[[{"secondary_y": other is not None}]])
    _layout(fig, sl_.full_title(data, False))
    (x,) = data.coords
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data.values,
            mode="lines",
            name=metric,
            line={"color": sl_.LOSS_COLOUR, "width": 2.5},
            hovertemplate=f"{_short(data.labels[0])} = %{{x:.4g}}<br>{metric} = %{{y:.4g}}"
            "<extra></extra>",
            meta="curve",
        ),
        secondary_y=False,
    )
    for item in sl_.overlays(landscape, data, trajectory=trajectory, mark=mark):
        y = sl_.interpolate(data, item.points)
        fig.add_trace(_scatter(item, item.points[:, 0], y, metric=metric), secondary_y=False)
        if item.kind == "anchor":
            fig.add_vline(
                x=float(item.points[0, 0]), line={"color": "black", "width": 1, "dash": "dot"}
            )
    if other is not None:
        extra = sl_.slice_of(landscape, other)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=extra.values,
                mode="lines",
                name=other,
                line={"color": sl_.ACCURACY_COLOUR, "width": 2, "dash": "dash"},
                hovertemplate=f"{other} = %{{y:.4g}}<extra></extra>",
                meta="secondary",
            ),
            secondary_y=True,
        )
        fig.update_yaxes(
            title_text=other,
            color=sl_.ACCURACY_COLOUR,
            showgrid=False,
            secondary_y=True,
        )
    fig.update_xaxes(title_text=data.labels[0], range=list(data.box[0]))
    fig.update_yaxes(
        title_text=metric + (" (log scale)" if log else ""),
        color=sl_.LOSS_COLOUR,
        type="log" if log and np.nanmin(data.values) > 0 else "linear",
        secondary_y=False,
    )
    return fig


# -- traces -------------------------------------------------------------------------------------


def _surface_trace(data: sl_.Slice, col: common.Colouring, *, colorbar: bool) -> go.Surface:
    x, y = data.coords
    return go.Surface(
        x=x,
        y=y,
        z=np.clip(col.z.T, col.lo, col.hi),  # 'ij' -> 'xy': z[j][i] at (x[i], y[j])
        customdata=col.raw.T,
        colorscale=common.COLOURSCALE,
        cmin=col.lo,
        cmax=col.hi,
        showscale=colorbar,
        colorbar={"title": {"text": col.label, "side": "right"}},
        hovertemplate=_hover(data) + "%{customdata:.4g}<extra></extra>",
        name="landscape",
        meta="landscape",
        showlegend=False,
    )


def _contour_trace(data: sl_.Slice, col: common.Colouring) -> go.Contour:
    x, y = data.coords
    return go.Contour(
        x=x,
        y=y,
        z=col.z.T,
        customdata=col.raw.T,
        colorscale=common.COLOURSCALE,
        zmin=col.lo,
        zmax=col.hi,
        connectgaps=False,
        contours={
            "start": col.lo,
            "end": col.hi,
            "size": (col.hi - col.lo) / common.N_LEVELS,
            "coloring": "fill",
            "showlines": True,
        },
        line={"width": 0.5, "color": "rgba(0,0,0,0.35)"},
        colorbar={"title": {"text": col.label, "side": "right"}},
        hovertemplate=_hover(data) + "%{customdata:.4g}<extra></extra>",
        name="landscape",
        meta="landscape",
        showlegend=False,
    )


_SYMBOLS = {
    "origin": ("circle-open", 16, "black"),
    "best": ("star", 16, "white"),
    "start": ("circle", 12, sl_.TRAJECTORY_COLOUR),
    "end": ("x", 12, sl_.TRAJECTORY_COLOUR),
}
# Scatter3d knows only circle, circle-open, cross, diamond, diamond-open, square,
# square-open and x: the same meaning with the symbols it has.
_SYMBOLS_3D = {"star": "diamond", "triangle-up": "diamond-open", "triangle-down": "square-open"}


def _marker(item: sl_.Overlay, three_d: bool = False) -> dict[str, Any]:
    i = item.index
    if item.kind == "anchor":
        symbol, size, colour = sl_.ANCHOR_SYMBOLS[i % 3], 11, "black"
    elif item.kind == "mark":
        symbol, size, colour = sl_.MARK_SYMBOLS[i % 6], 13, sl_.MARK_COLOURS[i % 6]
    else:
        symbol, size, colour = _SYMBOLS[item.kind]
    if item.kind == "origin":
        line = {"color": "black", "width": 3}
    else:
        line = {"color": "white" if colour == "black" else "black", "width": 1.5}
    if three_d:
        symbol = _SYMBOLS_3D.get(symbol, symbol)
        if symbol in ("pentagon", "hexagon"):
            symbol = "diamond"
        size = 0.7 * size
    return {"symbol": symbol, "size": size, "color": colour, "line": line}


def _scatter(item: sl_.Overlay, x, y, *, metric: str | None = None) -> go.Scatter:
    """An overlay as a 2-D Scatter (contour or 1-D curve)."""
    label = item.label
    hover = "%{x:.4g}, %{y:.4g}" if metric is None else f"%{{x:.4g}}<br>{metric} = %{{y:.4g}}"
    if item.kind == "trajectory":
        return go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            name=label,
            line={"color": sl_.TRAJECTORY_COLOUR, "width": 2},
            marker={"size": common.marker_size(len(x), 6.0), "color": sl_.TRAJECTORY_COLOUR},
            connectgaps=False,
            hovertemplate=hover + f"<extra>{label}</extra>",
            legendgroup="trajectory",
            meta="trajectory",
        )
    return go.Scatter(
        x=x,
        y=y,
        mode="markers",
        name=label,
        marker=_marker(item),
        hovertemplate=hover + f"<extra>{label}</extra>",
        legendgroup=_group(item),
        meta=item.kind,
    )


def _overlay_traces_2d(items: list[sl_.Overlay]) -> list[go.Scatter]:
    return [_scatter(item, item.points[:, 0], item.points[:, 1]) for item in items]


def _overlay_traces_3d(
    data: sl_.Slice, col: common.Colouring, items: list[sl_.Overlay], *, legend: bool
) -> list[go.Scatter3d]:
    """Overlays lifted onto the surface: height = the slice's value there (interpolated), a
    hair above so the markers are not hidden. legend=False when the contour beside shows it."""
    lift = 0.03 * (col.hi - col.lo)  # plotly depth-tests markers: keep them clear of it
    traces = []
    for item in items:
        z = np.clip(col.transform(sl_.interpolate(data, item.points)), col.lo, col.hi) + lift
        x, y = item.points[:, 0], item.points[:, 1]
        common_args = {
            "x": x,
            "y": y,
            "z": z,
            "name": item.label,
            "legendgroup": _group(item),
            "showlegend": legend,
            "meta": item.kind,
            "hovertemplate": "%{x:.4g}, %{y:.4g}" + f"<extra>{item.label}</extra>",
        }
        if item.kind == "trajectory":
            traces.append(
                go.Scatter3d(
                    mode="lines+markers",
                    line={"color": sl_.TRAJECTORY_COLOUR, "width": 5},
                    marker={"size": 2.5, "color": sl_.TRAJECTORY_COLOUR},
                    connectgaps=False,
                    **common_args,
                )
            )
        else:
            traces.append(go.Scatter3d(mode="markers", marker=_marker(item, True), **common_args))
    return traces


# -- layout -------------------------------------------------------------------------------------


def _layout(fig: go.Figure, title: str) -> None:
    fig.update_layout(
        template=common.TEMPLATE,
        height=HEIGHT,
        legend=_LEGEND_BELOW,
        title={"text": title, "x": 0.5},
    )


def _scene(fig: go.Figure, data: sl_.Slice, col: common.Colouring, name: str) -> None:
    box = data.box
    fig.update_layout(
        {
            name: {
                "xaxis": {"title": {"text": _short(data.labels[0])}, "range": list(box[0])},
                "yaxis": {"title": {"text": _short(data.labels[1])}, "range": list(box[1])},
                "zaxis": {"title": {"text": data.value_label(col.log)}},
                "aspectmode": "manual",
                "aspectratio": {"x": 1, "y": 1, "z": 0.7},
                # matplotlib's default view (azimuth -60, elevation 30), so both agree
                "camera": {"eye": {"x": 0.95, "y": -1.65, "z": 1.1}},
            }
        }
    )


def _axes_2d(fig: go.Figure, data: sl_.Slice, **rc) -> None:
    box = data.box
    fig.update_xaxes(title_text=data.labels[0], range=list(box[0]), constrain="domain", **rc)
    fig.update_yaxes(title_text=data.labels[1], range=list(box[1]), constrain="domain", **rc)


def _hover(data: sl_.Slice) -> str:
    return (
        f"{_short(data.labels[0])} = %{{x:.4g}}<br>{_short(data.labels[1])} = %{{y:.4g}}<br>"
        f"{data.metric} = "
    )


def _short(label: str) -> str:
    """'direction 1 (filter-normalized, seed 0)' -> 'direction 1' for hovers and 3-D axes."""
    return label.split(" (", 1)[0]


def _group(item: sl_.Overlay) -> str:
    return "trajectory" if item.kind in ("trajectory", "start", "end") else item.kind
