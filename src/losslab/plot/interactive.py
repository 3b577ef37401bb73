"""Interactive figures with plotly: the same pictures as `losslab.plot.static`, under the same
names, as `plotly.graph_objects.Figure`s with hover (w1, w2, loss, step), legends and zoom.

Nothing is shown or served here; save with `losslab.plot.export.save_figure(fig, "x.html")`
(self-contained, works offline). Traces carry a `meta` tag saying what they are: "landscape",
"path", "start", "end", "diverged", "minimum", "critical-<kind>", "gradient", "steps", "curve",
"basins", "loss", "eigen", "point", "legend".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from losslab.attraction import BasinMap
from losslab.curvature import CriticalPoint
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import _common as common
from losslab.plot._common import Run

HEIGHT = 680
RACE_HEIGHT = 620
_LEGEND_BELOW = {
    "orientation": "h",
    "x": 0.5,
    "xanchor": "center",
    "y": -0.14,
    "yanchor": "top",
    "font": {"size": 11},
}
_HOVER_2D = "w1 = %{x:.4g}<br>w2 = %{y:.4g}<br>loss = "

# Where to draw: None for a plain figure, or (row, col) of a subplot.
Cell = tuple[int, int] | None


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
) -> go.Figure:
    """`curve_1d` for a 1-parameter objective, `contour` for a 2-parameter one."""
    if getattr(objective, "n_params", None) == 1:
        return curve_1d(
            objective,
            trajectories=trajectories,
            minima=minima,
            critical_points=critical_points,
            bounds=bounds,
            resolution=resolution or 400,
        )
    return contour(
        objective,
        trajectories=trajectories,
        gradient_field=gradient_field,
        minima=minima,
        critical_points=critical_points,
        bounds=bounds,
        resolution=resolution or 150,
        log=log,
    )


def contour(
    objective: Objective,
    *,
    trajectories=(),
    gradient_field: bool = False,
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 150,
    log: bool | None = None,
) -> go.Figure:
    """Filled contour of a 2-D objective with paths, minima, critical points and optionally
    the gradient field (arrows uphill, perpendicular to the contour lines). Same meaning as
    `static.contour`."""
    all_runs = common.runs(trajectories, n_params=2)
    land = common.landscape_2d(objective, bounds, resolution, log)
    fig = _figure(getattr(objective, "name", ""))
    _draw_contour(
        fig,
        objective,
        land,
        all_runs,
        gradient_field=gradient_field,
        minima=minima,
        critical_points=critical_points,
        cell=None,
    )
    return fig


def surface_3d(
    objective: Objective,
    *,
    trajectories=(),
    minima: bool = True,
    bounds=None,
    resolution: int = 80,
    log: bool | None = None,
) -> go.Figure:
    """The objective as a 3-D surface with trajectories lifted onto it (z = their loss)."""
    all_runs = common.runs(trajectories, n_params=2)
    land = common.landscape_2d(objective, bounds, resolution, log, what="surface_3d")
    col = land.colouring
    fig = _figure(getattr(objective, "name", ""))
    height = np.clip(col.z, col.lo, col.hi)
    fig.add_trace(
        go.Surface(
            x=land.x,
            y=land.y,
            z=height,
            customdata=col.raw,
            colorscale=common.COLOURSCALE,
            cmin=col.lo,
            cmax=col.hi,
            colorbar={"title": {"text": col.label, "side": "right"}},
            hovertemplate=_HOVER_2D + "%{customdata:.4g}<extra></extra>",
            name="landscape",
            meta="landscape",
            showlegend=False,
        )
    )
    lift = 0.01 * (col.hi - col.lo)  # a hair above the surface so the path stays visible
    if minima:
        points = common.minima_array(objective)
        if len(points):
            values = _values_at(objective, points)
            z = np.clip(col.transform(values), col.lo, col.hi) + lift
            fig.add_trace(
                go.Scatter3d(
                    x=points[:, 0],
                    y=points[:, 1],
                    z=z,
                    mode="markers",
                    name=common.MINIMUM_LABEL,
                    marker={
                        "symbol": "cross",
                        "size": 6,
                        "color": "white",
                        "line": {"color": "black", "width": 2},
                    },
                    customdata=values,
                    meta="minimum",
                    hovertemplate=_HOVER_2D + "%{customdata:.4g}<extra>known minimum</extra>",
                )
            )
    for run in all_runs:
        z = np.clip(col.transform(run.losses), col.lo, col.hi) + lift
        x, y = run.path[:, 0], run.path[:, 1]
        custom = np.column_stack([run.steps, run.losses])
        hover = _run_hover(run)
        fig.add_trace(
            go.Scatter3d(
                x=x,
                y=y,
                z=z,
                mode="lines+markers",
                name=run.legend,
                legendgroup=_group(run),
                showlegend=run.show_legend,
                line={"color": run.colour, "width": 6},
                marker={"size": 2.5, "color": run.colour},
                customdata=custom,
                hovertemplate=hover,
                meta="path",
            )
        )
        fig.add_trace(
            go.Scatter3d(
                x=x[:1],
                y=y[:1],
                z=z[:1],
                mode="markers",
                name="start",
                legendgroup=_group(run),
                showlegend=False,
                marker={
                    "symbol": "circle",
                    "size": 7,
                    "color": run.colour,
                    "line": {"color": "white", "width": 2},
                },
                customdata=custom[:1],
                hovertemplate=hover,
                meta="start",
            )
        )
        end = (
            {"symbol": "x", "size": 8, "color": common.DIVERGED_COLOUR}
            if run.diverged
            else {
                "symbol": "diamond",
                "size": 7,
                "color": run.colour,
                "line": {"color": "black", "width": 1},
            }
        )
        fig.add_trace(
            go.Scatter3d(
                x=x[-1:],
                y=y[-1:],
                z=z[-1:],
                mode="markers",
                legendgroup=_group(run),
                name=common.status_text(run.status, run.stopped_at),
                showlegend=False,
                marker=end,
                customdata=custom[-1:],
                hovertemplate=hover,
                meta="diverged" if run.diverged else "end",
            )
        )
    xlabel, ylabel = common.axis_labels(2)
    fig.update_layout(
        scene={
            "xaxis": {"title": {"text": xlabel}, "range": list(land.box[0])},
            "yaxis": {"title": {"text": ylabel}, "range": list(land.box[1])},
            "zaxis": {
                "title": {"text": "log10 loss" if col.log else "loss f"},
                "range": [col.lo, col.hi + 2 * lift],
            },
            "aspectmode": "manual",
            "aspectratio": {"x": 1, "y": 1, "z": 0.7},
        }
    )
    return fig


def curve_1d(
    objective: Objective,
    *,
    trajectories=(),
    minima: bool = True,
    critical_points=(),
    bounds=None,
    resolution: int = 400,
) -> go.Figure:
    """f(x) of a 1-D objective with the descent steps on the curve, their order shown by a
    colour ramp (pale first step, full colour last), and the final x, f(x), f'(x), steps."""
    all_runs = common.runs(trajectories, n_params=1)
    curve = common.curve_1d_grid(objective, bounds, resolution)
    fig = _figure(getattr(objective, "name", ""))
    _draw_curve(
        fig, objective, curve, all_runs, minima=minima, critical_points=critical_points, cell=None
    )
    return fig


def basin_map(basin_map: BasinMap, *, objective: Objective | None = None) -> go.Figure:
    """Where each start ends: one colour per minimum, grey for 'no known minimum', black for
    'diverged'; the legend gives the share of starts per basin."""
    if not isinstance(basin_map, BasinMap):
        raise LosslabError(
            f"basin_map is a {type(basin_map).__name__}: give the BasinMap from losslab.basins."
        )
    n = len(basin_map.coords)
    if n not in (1, 2):
        raise LosslabError(f"basin_map has {n} coordinates: only 1-D and 2-D maps can be drawn.")
    k = len(basin_map.minima)
    labels = basin_map.labels.detach().cpu().numpy()
    coords = [c.detach().cpu().double().numpy() for c in basin_map.coords]
    box = np.array([[c[0], c[-1]] for c in coords])
    minima = basin_map.minima.detach().cpu().double().numpy()
    fig = _figure(common.basin_title(basin_map))
    scale = _discrete_colourscale(common.basin_colours(k))
    hover = "basin %{z}<extra></extra>"
    if n == 2:
        fig.add_trace(
            go.Heatmap(
                x=coords[0],
                y=coords[1],
                z=labels.T,
                colorscale=scale,
                zmin=-2.5,
                zmax=k - 0.5,
                showscale=False,
                name="basins",
                meta="basins",
                hovertemplate="w1 = %{x:.4g}<br>w2 = %{y:.4g}<br>" + hover,
            )
        )
        if objective is not None:
            land = common.landscape_2d(
                objective, box, min(len(coords[0]), 120), None, what="basin_map"
            )
            fig.add_trace(_contour_lines(land))
        if len(minima):
            fig.add_trace(_minima_trace(minima[:, 0], minima[:, 1]))
        _axes_2d(fig, box, None)
    else:
        lo, hi = 0.0, 1.0
        if objective is not None:
            curve = common.curve_1d_grid(objective, box, 400)
            lo, hi = curve.ylim()
        fig.add_trace(
            go.Heatmap(
                x=coords[0],
                y=[lo, hi],
                z=np.stack([labels, labels]),
                colorscale=scale,
                zmin=-2.5,
                zmax=k - 0.5,
                showscale=False,
                opacity=0.8,
                name="basins",
                meta="basins",
                hovertemplate="w = %{x:.4g}<br>" + hover,
            )
        )
        if objective is not None:
            fig.add_trace(
                go.Scatter(
                    x=curve.x,
                    y=curve.f,
                    mode="lines",
                    name="f(x)",
                    line={"color": "black", "width": 2},
                    meta="curve",
                )
            )
        if len(minima):
            y = (
                _values_at(objective, minima)
                if objective is not None
                else np.full(len(minima), 0.5)
            )
            fig.add_trace(_minima_trace(minima[:, 0], y))
        fig.update_xaxes(title_text=common.axis_labels(1)[0], range=list(box[0]))
        fig.update_yaxes(
            range=[lo, hi],
            title_text="loss f(x)" if objective is not None else "",
            showticklabels=objective is not None,
        )
    for entry in common.basin_entries(basin_map):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=entry.text,
                meta="legend",
                marker={
                    "symbol": "square",
                    "size": 14,
                    "color": entry.colour,
                    "line": {"color": "black", "width": 1},
                },
            )
        )
    fig.update_layout(legend={**_LEGEND_BELOW, "title": {"text": "share of starts per basin"}})
    return fig


def hessian_view(
    point: CriticalPoint, objective: Objective, *, radius: float | None = None, log: bool = False
) -> go.Figure:
    """The objective around `point` with its Hessian's eigen-directions: blue arrows pointing
    in (positive curvature, attracting), red arrows pointing out (negative curvature,
    repelling), lengths scaled by |eigenvalue|; a box with eigenvalues, trace, det and kind."""
    if not isinstance(point, CriticalPoint):
        raise LosslabError(
            f"point is a {type(point).__name__}: give a CriticalPoint from losslab.inspect."
        )
    box = common.hessian_box(point, objective, radius)
    arrows = common.eigen_arrows(point, float(box[0, 1] - box[0, 0]) / 2)
    centre = point.point.detach().cpu().double().numpy()
    fig = _figure(common.hessian_title(point, objective))
    if objective.n_params == 2:
        land = common.landscape_2d(objective, box, 100, log, what="hessian_view")
        fig.add_trace(_contour_trace(land))
        ends = [(arrow, arrow.tails, arrow.tips) for arrow in arrows]
        y_centre = centre[1]
        _axes_2d(fig, land.box, None)
    else:
        curve = common.curve_1d_grid(objective, box, 300)
        slope, curvature = float(point.gradient[0]), float(point.hessian[0, 0])
        dx = curve.x - centre[0]
        fig.add_trace(
            go.Scatter(
                x=curve.x,
                y=curve.f,
                mode="lines",
                name="f(x)",
                line={"color": "black", "width": 2},
                meta="curve",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=curve.x,
                y=point.value + slope * dx + 0.5 * curvature * dx**2,
                mode="lines",
                name="quadratic model",
                line={"color": "grey", "width": 1.5, "dash": "dash"},
                meta="curve",
            )
        )
        level = np.full((2, 1), point.value)
        ends = [(a, np.hstack([a.tails, level]), np.hstack([a.tips, level])) for a in arrows]
        y_centre = point.value
        fig.update_xaxes(title_text=common.axis_labels(1)[0], range=list(curve.box[0]))
        fig.update_yaxes(title_text="loss f(x)", range=list(curve.ylim()))
    for arrow, tails, tips in ends:
        for tail, tip in zip(tails, tips, strict=True):
            if arrow.flat:
                fig.add_trace(
                    go.Scatter(
                        x=[tail[0], tip[0]],
                        y=[tail[1], tip[1]],
                        mode="lines",
                        line={"color": arrow.colour, "width": 3, "dash": "dash"},
                        showlegend=False,
                        hoverinfo="skip",
                        meta="eigen",
                    )
                )
            else:
                fig.add_annotation(
                    x=tip[0],
                    y=tip[1],
                    ax=tail[0],
                    ay=tail[1],
                    xref="x",
                    yref="y",
                    axref="x",
                    ayref="y",
                    text="",
                    showarrow=True,
                    arrowhead=2,
                    arrowsize=1.2,
                    arrowwidth=3,
                    arrowcolor=arrow.colour,
                    standoff=4,
                    startstandoff=4,
                )
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=arrow.text,
                line={"color": arrow.colour, "width": 3, "dash": "dash" if arrow.flat else "solid"},
                meta="legend",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[centre[0]],
            y=[y_centre],
            mode="markers",
            meta="point",
            name=f"{point.kind} at {common.point_text(centre)}",
            marker={"size": 11, "color": "black", "line": {"color": "white", "width": 2}},
        )
    )
    fig.add_annotation(
        x=0.01,
        y=0.99,
        xref="paper",
        yref="paper",
        xanchor="left",
        yanchor="top",
        showarrow=False,
        align="left",
        text=common.hessian_text(point).replace("\n", "<br>"),
        font={"family": "monospace", "size": 12},
        bgcolor="rgba(255,255,255,0.88)",
        bordercolor="black",
        borderwidth=1,
    )
    return fig


def loss_curves(trajectories, *, log: bool = True) -> go.Figure:
    """Loss against step, one line per run; a red x where a run diverged. A log y axis when
    every loss is >= 0 (an exact 0 has no point on it), else linear (plotly has no symlog)."""
    all_runs = common.runs(trajectories)
    if not all_runs:
        raise LosslabError(
            "loss_curves needs at least one trajectory: give the result of "
            "losslab.descend or losslab.race."
        )
    fig = _figure("loss per step")
    _draw_losses(fig, all_runs, log=log, cell=None, show_legend=True)
    return fig


def race(objective: Objective, trajectories, *, bounds=None, log: bool | None = None) -> go.Figure:
    """The paths on the landscape (left) and the loss curves (right), side by side; clicking a
    run in the legend hides both its path and its loss curve."""
    n_params = getattr(objective, "n_params", None)
    all_runs = common.runs(trajectories, n_params=n_params)
    name = getattr(objective, "name", "")
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.13,
        subplot_titles=(name, "loss per step"),
    )
    starts = {common.point_text(run.start) for run in all_runs}
    where = f" from {starts.pop()}" if len(starts) == 1 else ""
    fig.update_layout(
        template=common.TEMPLATE,
        height=RACE_HEIGHT,
        legend=_LEGEND_BELOW,
        title={"text": f"optimizer race on {name}{where}", "x": 0.5},
    )
    if n_params == 1:
        curve = common.curve_1d_grid(objective, bounds, 400)
        _draw_curve(fig, objective, curve, all_runs, minima=True, critical_points=(), cell=(1, 1))
    else:
        land = common.landscape_2d(objective, bounds, 150, log)
        domain = fig.layout.xaxis.domain
        _draw_contour(
            fig,
            objective,
            land,
            all_runs,
            gradient_field=False,
            minima=True,
            critical_points=(),
            cell=(1, 1),
            colorbar={"x": domain[1] + 0.005, "xanchor": "left", "thickness": 14},
        )
    _draw_losses(fig, all_runs, log=True, cell=(1, 2), show_legend=False)
    return fig


# -- drawing into a figure (a plain one, or one cell of a subplot grid) --------------------------


def _figure(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template=common.TEMPLATE,
        height=HEIGHT,
        legend=_LEGEND_BELOW,
        title={"text": title, "x": 0.5},
    )
    return fig


def _rc(cell: Cell) -> dict:
    return {} if cell is None else {"row": cell[0], "col": cell[1]}


def _draw_contour(
    fig: go.Figure,
    objective: Objective,
    land: common.Landscape2D,
    all_runs: Sequence[Run],
    *,
    gradient_field: bool,
    minima: bool,
    critical_points,
    cell: Cell,
    colorbar: dict | None = None,
) -> None:
    rc = _rc(cell)
    fig.add_trace(_contour_trace(land, colorbar), **rc)
    if gradient_field:
        xs, ys = common.arrow_segments(common.gradient_field(objective, land.box))
        # A dark line under a light one: the arrows read on both ends of the colour map.
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "black", "width": 3},
                hoverinfo="skip",
                showlegend=False,
                meta="gradient-outline",
                legendgroup="gradient",
            ),
            **rc,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "white", "width": 1.3},
                hoverinfo="skip",
                name=common.GRADIENT_LABEL,
                meta="gradient",
                legendgroup="gradient",
            ),
            **rc,
        )
    for kind, where in common.critical_groups(critical_points):
        _, symbol, text = common.CRITICAL_MARKERS[kind]
        fig.add_trace(
            go.Scatter(
                x=where[:, 0],
                y=where[:, 1],
                mode="markers",
                name=text,
                meta=f"critical-{kind}",
                marker={
                    "symbol": symbol,
                    "size": 12,
                    "color": "white",
                    "line": {"color": "black", "width": 1.5},
                },
                hovertemplate=f"{kind}<br>w1 = %{{x:.4g}}<br>w2 = %{{y:.4g}}<extra></extra>",
            ),
            **rc,
        )
    if minima:
        points = common.minima_array(objective)
        if len(points):
            fig.add_trace(_minima_trace(points[:, 0], points[:, 1]), **rc)
    for trace in _path_traces(all_runs):
        fig.add_trace(trace, **rc)
    _marker_legend(fig, all_runs, cell)
    _axes_2d(fig, land.box, cell)


def _contour_trace(land: common.Landscape2D, colorbar: dict | None = None) -> go.Contour:
    col = land.colouring
    size = (col.hi - col.lo) / common.N_LEVELS
    if col.log:
        custom, value = col.raw, "%{customdata:.4g}"
    else:
        custom, value = None, "%{z:.4g}"
    return go.Contour(
        x=land.x,
        y=land.y,
        z=col.z,
        customdata=custom,
        colorscale=common.COLOURSCALE,
        zmin=col.lo,
        zmax=col.hi,
        connectgaps=False,
        contours={
            "start": col.lo,
            "end": col.hi,
            "size": size,
            "coloring": "fill",
            "showlines": True,
        },
        line={"width": 0.5, "color": "rgba(0,0,0,0.35)"},
        colorbar={"title": {"text": col.label, "side": "right"}, **(colorbar or {})},
        hovertemplate=_HOVER_2D + value + "<extra></extra>",
        name="landscape",
        meta="landscape",
        showlegend=False,
    )


def _contour_lines(land: common.Landscape2D) -> go.Contour:
    """Faint black contour lines only (over a basin map)."""
    col = land.colouring
    return go.Contour(
        x=land.x,
        y=land.y,
        z=col.z,
        showscale=False,
        hoverinfo="skip",
        opacity=0.35,
        colorscale=[[0, "black"], [1, "black"]],
        line={"width": 0.7},
        contours={
            "start": col.lo,
            "end": col.hi,
            "size": (col.hi - col.lo) / 20,
            "coloring": "lines",
        },
        name="contour lines",
        meta="landscape",
        showlegend=False,
    )


def _minima_trace(x, y) -> go.Scatter:
    return go.Scatter(
        x=x,
        y=y,
        mode="markers",
        name=common.MINIMUM_LABEL,
        meta="minimum",
        marker={
            "symbol": "cross",
            "size": 14,
            "color": "white",
            "line": {"color": "black", "width": 1.5},
        },
        hovertemplate="known minimum<br>%{x:.4g}, %{y:.4g}<extra></extra>",
    )


def _group(run: Run) -> str:
    return f"run-{run.group}"


def _run_hover(run: Run) -> str:
    return (
        "step %{customdata[0]:d}<br>"
        + _HOVER_2D
        + "%{customdata[1]:.4g}"
        + f"<extra>{run.label}</extra>"
    )


def _path_traces(all_runs: Sequence[Run]) -> list[go.Scatter]:
    """Per run: the path (lines + a marker per step), its start (circle) and its end (star, or
    a red x when it diverged). The three share a legend group."""
    traces = []
    for run in all_runs:
        x, y = run.path[:, 0], run.path[:, 1]
        custom = np.column_stack([run.steps, run.losses])
        hover = _run_hover(run)
        traces.append(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=run.legend,
                legendgroup=_group(run),
                showlegend=run.show_legend,
                line={"color": run.colour, "width": 2},
                marker={"size": common.marker_size(len(x), 6.0), "color": run.colour},
                customdata=custom,
                hovertemplate=hover,
                meta="path",
            )
        )
        traces.append(
            go.Scatter(
                x=x[:1],
                y=y[:1],
                mode="markers",
                name="start",
                legendgroup=_group(run),
                showlegend=False,
                customdata=custom[:1],
                hovertemplate=hover,
                meta="start",
                marker={
                    "symbol": "circle",
                    "size": 13,
                    "color": run.colour,
                    "line": {"color": "white", "width": 2},
                },
            )
        )
        traces.append(_end_trace(run, x[-1:], y[-1:], custom[-1:], hover))
    return traces


def _end_trace(run: Run, x, y, custom, hover: str) -> go.Scatter:
    if run.diverged:
        marker = {
            "symbol": "x",
            "size": 14,
            "color": common.DIVERGED_COLOUR,
            "line": {"color": "white", "width": 1},
        }
    else:
        marker = {
            "symbol": "star",
            "size": 18,
            "color": run.colour,
            "line": {"color": "black", "width": 1},
        }
    return go.Scatter(
        x=x,
        y=y,
        mode="markers",
        legendgroup=_group(run),
        showlegend=False,
        name=common.status_text(run.status, run.stopped_at),
        marker=marker,
        customdata=custom,
        hovertemplate=hover,
        meta="diverged" if run.diverged else "end",
    )


def _marker_legend(fig: go.Figure, all_runs: Sequence[Run], cell: Cell) -> None:
    """Legend-only entries that explain the start and end markers (and the red x)."""
    if not all_runs:
        return
    entries = [
        ("start", {"symbol": "circle", "size": 11, "color": "grey"}),
        (
            "end",
            {"symbol": "star", "size": 14, "color": "grey", "line": {"color": "black", "width": 1}},
        ),
    ]
    if any(run.diverged for run in all_runs):
        entries.append(("diverged", {"symbol": "x", "size": 12, "color": common.DIVERGED_COLOUR}))
    for name, marker in entries:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                marker=marker,
                meta="legend",
                hoverinfo="skip",
            ),
            **_rc(cell),
        )


def _axes_2d(fig: go.Figure, box: np.ndarray, cell: Cell) -> None:
    """Axis titles and the window as fixed ranges; equal scales (unless the window is very
    elongated) so the gradient looks perpendicular to the contour lines."""
    xlabel, ylabel = common.axis_labels(2)
    rc = _rc(cell)
    fig.update_xaxes(title_text=xlabel, range=list(box[0]), constrain="domain", **rc)
    yaxis = {"title_text": ylabel, "range": list(box[1]), "constrain": "domain"}
    width, height = box[0, 1] - box[0, 0], box[1, 1] - box[1, 0]
    if 1 / 3 <= width / height <= 3:
        anchor = "x" if cell is None else _x_name(fig, cell)
        yaxis.update(scaleanchor=anchor, scaleratio=1)
    fig.update_yaxes(**yaxis, **rc)


def _x_name(fig: go.Figure, cell: tuple[int, int]) -> str:
    """The x axis id ('x', 'x2', ...) of a subplot cell."""
    ref = fig.get_subplot(*cell)
    return ref.xaxis.plotly_name.replace("axis", "")


def _draw_curve(
    fig: go.Figure,
    objective: Objective,
    curve: common.Curve1D,
    all_runs: Sequence[Run],
    *,
    minima: bool,
    critical_points,
    cell: Cell,
) -> None:
    rc = _rc(cell)
    fig.add_trace(
        go.Scatter(
            x=curve.x,
            y=curve.f,
            mode="lines",
            name="f(x)",
            meta="curve",
            line={"color": "black", "width": 2},
            hovertemplate="w = %{x:.4g}<br>loss = %{y:.4g}<extra></extra>",
        ),
        **rc,
    )
    for kind, where in common.critical_groups(critical_points):
        _, symbol, text = common.CRITICAL_MARKERS[kind]
        fig.add_trace(
            go.Scatter(
                x=where[:, 0],
                y=_values_at(objective, where),
                mode="markers",
                name=text,
                meta=f"critical-{kind}",
                marker={
                    "symbol": symbol,
                    "size": 12,
                    "color": "white",
                    "line": {"color": "black", "width": 1.5},
                },
            ),
            **rc,
        )
    if minima:
        points = common.minima_array(objective)
        if len(points):
            fig.add_trace(_minima_trace(points[:, 0], _values_at(objective, points)), **rc)
    hover = "step %{customdata[0]:d}<br>w = %{x:.4g}<br>loss = %{y:.4g}<extra>%{meta}</extra>"
    for run in all_runs:
        x, f = run.path[:, 0], run.losses
        custom = np.column_stack([run.steps, f])
        colours = [common.rgb_string(c) for c in common.ramp(run.colour, len(x))]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=f,
                mode="lines+markers",
                name=run.legend,
                legendgroup=_group(run),
                showlegend=run.show_legend,
                line={"color": run.colour, "width": 1},
                marker={
                    "size": common.marker_size(len(x), 8.0),
                    "color": colours,
                    "line": {"color": run.colour, "width": 1},
                },
                customdata=custom,
                hovertemplate=hover.replace("%{meta}", run.label),
                meta="path",
            ),
            **rc,
        )
        fig.add_trace(
            go.Scatter(
                x=x[:1],
                y=f[:1],
                mode="markers",
                name="start",
                legendgroup=_group(run),
                showlegend=False,
                meta="start",
                hoverinfo="skip",
                marker={
                    "symbol": "circle",
                    "size": 13,
                    "color": run.colour,
                    "line": {"color": "white", "width": 2},
                },
            ),
            **rc,
        )
        fig.add_trace(
            _end_trace(run, x[-1:], f[-1:], custom[-1:], hover.replace("%{meta}", run.label)), **rc
        )
    _marker_legend(fig, all_runs, cell)
    shown = all_runs[:6]
    if shown:
        values, grads = common.derivative_at(objective, np.stack([run.end for run in shown]))
        for i, (run, value, grad) in enumerate(zip(shown, values, grads, strict=True)):
            text = (
                f"{run.label}: x = {common.number(run.end[0])}, "
                f"f(x) = {common.number(value)}, f'(x) = {common.number(grad[0])}, "
                f"steps = {run.stopped_at}"
            )
            if run.diverged:
                text += f" ({common.status_text(run.status, run.stopped_at)})"
            fig.add_annotation(
                x=0.01,
                y=0.99 - 0.07 * i,
                xref="x domain",
                yref="y domain",
                xanchor="left",
                yanchor="top",
                showarrow=False,
                text=text,
                font={"color": run.colour, "size": 11},
                bgcolor="rgba(255,255,255,0.85)",
                bordercolor=run.colour,
                borderwidth=1,
                **rc,
            )
    fig.update_xaxes(title_text=common.axis_labels(1)[0], range=list(curve.box[0]), **rc)
    fig.update_yaxes(
        title_text="loss f(x)", range=list(curve.ylim(top=0.08 + 0.12 * len(shown))), **rc
    )


def _draw_losses(
    fig: go.Figure, all_runs: Sequence[Run], *, log: bool, cell: Cell, show_legend: bool
) -> None:
    rc = _rc(cell)
    for run in all_runs:
        custom = np.column_stack([run.steps])
        fig.add_trace(
            go.Scatter(
                x=run.steps,
                y=run.losses,
                mode="lines",
                name=run.legend,
                legendgroup=_group(run),
                showlegend=show_legend and run.show_legend,
                line={"color": run.colour, "width": 2},
                customdata=custom,
                meta="loss",
                hovertemplate=f"step %{{x:d}}<br>loss = %{{y:.4g}}<extra>{run.label}</extra>",
            ),
            **rc,
        )
        if run.diverged:
            fig.add_trace(
                go.Scatter(
                    x=run.steps[-1:],
                    y=run.losses[-1:],
                    mode="markers",
                    legendgroup=_group(run),
                    name=common.status_text(run.status, run.stopped_at),
                    showlegend=False,
                    marker={"symbol": "x", "size": 13, "color": common.DIVERGED_COLOUR},
                    meta="diverged",
                ),
                **rc,
            )
    scale = common.loss_scale(all_runs, log)
    if scale == "log":
        title = "loss (log)"
        if any(np.any(run.losses == 0) for run in all_runs):
            title = "loss (log; a loss of 0 has no point)"
        fig.update_yaxes(type="log", title_text=title, **rc)
    else:
        title = "loss" if not log else "loss (linear: some losses are negative)"
        fig.update_yaxes(type="linear", title_text=title, **rc)
    fig.update_xaxes(title_text="step", **rc)


def _discrete_colourscale(colours: Sequence[str]) -> list[list]:
    """A stepped colour scale: colour i over the i-th equal slice of [0, 1]."""
    n = len(colours)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def _values_at(objective: Objective, points: np.ndarray) -> np.ndarray:
    values, _ = common.derivative_at(objective, points)
    return values


# Views of a computed Landscape (a slice through a network's loss) live in their own module,
# re-exported here so that this module offers every picture under one name.
from losslab.plot.slices_interactive import (  # noqa: E402, F401
    slice_contour,
    slice_curve,
    slice_surface,
    slice_view,
)
