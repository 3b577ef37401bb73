"""Figures of the neural-landscapes page: `Slice`s (losslab.web.networks) as contour maps or
3-D surfaces, with the training path, its start and end, and the marked solutions.

No animation runs on these figures, so filled contours are plain `go.Contour` traces. Colours
follow the rest of the lab: Viridis for the loss (log10 for the network, whose loss spans
decades), the optimizer's colour for its path, white markers with a dark rim for marked points.
Every trace carries a `meta` tag ("landscape-<key>", "path-<key>", ...) that tests read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from losslab.web import theme
from losslab.web.networks import Lesson as Slice

VIEWS = ("contour", "3d")
CONVEX_HEIGHT = 430
NETWORK_HEIGHT = 500
N_CONTOURS = 22
PATH_COLOURS = {"linear": theme.OPTIMIZER_COLOURS["gd"], "logistic": theme.OPTIMIZER_COLOURS["gd"]}
NETWORK_PATH_COLOUR = theme.OPTIMIZER_COLOURS["momentum"]
MARK_SYMBOLS = ("circle-cross-open", "diamond-open")
MARK_SYMBOLS_3D = ("circle-open", "diamond-open")
CAMERA = {"eye": {"x": 1.3, "y": -1.3, "z": 0.95}}
MARK_LEGEND_COLOUR = "#333"  # marks are white on the map; their legend swatch is drawn dark
LEGEND_BELOW = {**theme.LEGEND_ABOVE, "y": -0.2, "yanchor": "top"}
MARGIN_2D = {"l": 64, "r": 16, "t": 34, "b": 104}
MARGIN_3D = {"l": 10, "r": 10, "t": 34, "b": 64}


def _layout(height: int, view: str, revision: int) -> dict:
    margin = MARGIN_3D if view == "3d" else MARGIN_2D
    return theme.base_layout(
        height=height, legend=LEGEND_BELOW, margin=margin, datarevision=revision
    )


def colour_values(s: Slice, values) -> np.ndarray:
    """What colour and height show: the loss, or log10 of it on a log slice."""
    values = np.asarray(values, dtype=np.float64)
    if not s.log:
        return values
    return np.log10(np.maximum(values, 1e-12))


def short(title: str) -> str:
    """An axis title without its parenthesis: 3-D axes have little room."""
    return title.split(" (")[0]


def loss_title(s: Slice) -> str:
    return "log10 loss" if s.log else "loss"


def convex_figure(
    slices: Sequence[tuple[str, Slice]], view: str, *, revision: int = 1
) -> go.Figure:
    """The convex models side by side: [(key, slice), ...], keys "linear", "logistic".
    revision: the layout's datarevision, a number that changes whenever the data does."""
    fig = go.Figure(layout=_layout(CONVEX_HEIGHT, view, revision))
    n = len(slices)
    gap = 0.12
    width = (1 - gap * (n - 1)) / n
    for i, (key, s) in enumerate(slices):
        lo = i * (width + gap)
        domain = [lo, lo + width * (0.88 if view == "contour" else 1.0)]
        colour = PATH_COLOURS.get(key, NETWORK_PATH_COLOUR)
        if view == "3d":
            _panel_3d(fig, key, s, f"scene{'' if i == 0 else i + 1}", domain, colour, first=i == 0)
        else:
            colorbar_x = lo + width * 0.9
            _panel_2d(fig, key, s, i, domain, colour, colorbar_x, first=i == 0)
    fig.update_layout(annotations=_titles(slices, gap, width))
    _mark_legend(fig, [s for _, s in slices], view)
    return fig


def network_figure(s: Slice, view: str, *, revision: int = 1) -> go.Figure:
    fig = go.Figure(layout=_layout(NETWORK_HEIGHT, view, revision))
    if view == "3d":
        _panel_3d(fig, "network", s, "scene", [0.0, 1.0], NETWORK_PATH_COLOUR, first=True)
    else:
        _panel_2d(fig, "network", s, 0, [0.0, 0.86], NETWORK_PATH_COLOUR, 0.88, first=True)
    fig.update_layout(annotations=_titles([("network", s)], 0.0, 1.0))
    _mark_legend(fig, [s], view)
    return fig


def _mark_legend(fig: go.Figure, slices: Sequence[Slice], view: str) -> None:
    """One dark legend entry per marked point's label (legend-only traces, added last; in
    3-D they live in the first scene, so that no empty 2-D axes appear)."""
    seen: dict[str, int] = {}
    for s in slices:
        for j, label in enumerate(s.marks):
            seen.setdefault(label, j)
    symbols = MARK_SYMBOLS_3D if view == "3d" else MARK_SYMBOLS
    for label, j in seen.items():
        trace, where = (
            (go.Scatter3d, {"z": [None], "scene": "scene"})
            if view == "3d"
            else (
                go.Scatter,
                {},
            )
        )
        fig.add_trace(
            trace(
                x=[None],
                y=[None],
                **where,
                mode="markers",
                marker={
                    "symbol": symbols[j % len(symbols)],
                    "size": 11,
                    "color": MARK_LEGEND_COLOUR,
                    "line": {"width": 2.4, "color": MARK_LEGEND_COLOUR},
                },
                name=label,
                legendgroup=label,
                hoverinfo="skip",
                meta="legend",
            )
        )


def _titles(slices, gap: float, width: float) -> list[dict]:
    return [
        {
            "text": f"<b>{s.title}</b>",
            "x": i * (width + gap) + width / 2,
            "y": 1.0,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "center",
            "yanchor": "bottom",
            "yshift": 4,
            "showarrow": False,
            "font": {"size": 14},
        }
        for i, (_, s) in enumerate(slices)
    ]


# -- contour panels -----------------------------------------------------------------------------


def _panel_2d(fig, key, s: Slice, i, domain, colour, colorbar_x, *, first: bool) -> None:
    suffix = "" if i == 0 else str(i + 1)
    xa, ya = f"x{suffix}", f"y{suffix}"
    z = colour_values(s, s.loss.T)
    hover = (
        f"{s.axis_titles[0]} = %{{x:.3g}}<br>{s.axis_titles[1]} = %{{y:.3g}}"
        "<br>loss = %{customdata:.4g}<extra></extra>"
    )
    fig.add_trace(
        go.Contour(
            x=s.landscape.coords[0],
            y=s.landscape.coords[1],
            z=z,
            customdata=s.loss.T,
            colorscale=theme.COLOURSCALE,
            ncontours=N_CONTOURS,
            contours={"coloring": "fill", "showlines": True},
            line={"width": 0.6, "color": "rgba(0,0,0,0.28)"},
            colorbar={
                "title": {"text": loss_title(s), "side": "right"},
                "x": colorbar_x,
                "xanchor": "left",
                "thickness": 12,
                "len": 0.9,
            },
            hovertemplate=hover,
            name="landscape",
            meta=f"landscape-{key}",
            showlegend=False,
            xaxis=xa,
            yaxis=ya,
        )
    )
    for trace in _path_2d(key, s, colour, xa, ya, first=first):
        fig.add_trace(trace)
    for j, (label, (mx, my)) in enumerate(s.marks.items()):
        fig.add_trace(
            go.Scatter(
                x=[mx],
                y=[my],
                mode="markers",
                marker={
                    "symbol": MARK_SYMBOLS[j % len(MARK_SYMBOLS)],
                    "size": 15 if j == 0 else 12,
                    "color": "white",
                    "line": {"width": 3 if j == 0 else 2.4, "color": "white"},
                },
                name=label,
                legendgroup=label,
                showlegend=False,
                hovertemplate=f"{label}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
                meta=f"mark-{key}-{j}",
                xaxis=xa,
                yaxis=ya,
            )
        )
    square = not s.log  # raw weights: one unit is as long on both axes
    fig.update_layout(
        {
            f"xaxis{suffix}": {
                "domain": domain,
                "anchor": ya,
                "title": {"text": s.axis_titles[0]},
                "range": [float(s.landscape.coords[0][0]), float(s.landscape.coords[0][-1])],
                "constrain": "domain",
                "showgrid": False,
                "zeroline": False,
                "ticks": "outside",
            },
            f"yaxis{suffix}": {
                "anchor": xa,
                "title": {"text": s.axis_titles[1]},
                "range": [float(s.landscape.coords[1][0]), float(s.landscape.coords[1][-1])],
                "constrain": "domain",
                "showgrid": False,
                "zeroline": False,
                "ticks": "outside",
                **({"scaleanchor": xa, "scaleratio": 1} if square else {}),
            },
        }
    )


def _path_2d(key, s: Slice, colour, xa, ya, *, first: bool) -> list[go.Scatter]:
    steps = np.arange(len(s.path))
    custom = np.column_stack([steps, s.path_loss])
    hover = (
        "record %{customdata[0]:d}<br>(%{x:.3g}, %{y:.3g})<br>"
        "loss = %{customdata[1]:.4g}<extra>training path</extra>"
    )
    common = {"xaxis": xa, "yaxis": ya}
    return [
        go.Scatter(
            x=s.path[:, 0],
            y=s.path[:, 1],
            mode="lines+markers",
            line={"color": colour, "width": 2.5},
            marker={"size": 4, "color": colour},
            customdata=custom,
            hovertemplate=hover,
            name=_path_label(key),
            legendgroup=f"path-{key}",
            showlegend=first,
            meta=f"path-{key}",
            **common,
        ),
        go.Scatter(
            x=s.path[:1, 0],
            y=s.path[:1, 1],
            mode="markers",
            marker={"size": 11, "color": "white", "line": {"color": "black", "width": 2}},
            name="start (initial weights)",
            legendgroup="start",
            showlegend=first,
            hovertemplate="start<br>(%{x:.3g}, %{y:.3g})<extra></extra>",
            meta=f"start-{key}",
            **common,
        ),
        go.Scatter(
            x=s.path[-1:, 0],
            y=s.path[-1:, 1],
            mode="markers",
            marker={"symbol": "star", "size": 15, "color": colour, "line": {"width": 1}},
            name="end of training",
            legendgroup="end",
            showlegend=first,
            hovertemplate="end of training<br>(%{x:.3g}, %{y:.3g})<extra></extra>",
            meta=f"end-{key}",
            **common,
        ),
    ]


def _path_label(key: str) -> str:
    if key == "network":
        return "training path (SGD + momentum, projected)"
    return "training path (full-batch gradient descent)"


# -- 3-D panels ---------------------------------------------------------------------------------


def _panel_3d(fig, key, s: Slice, scene, domain, colour, *, first: bool) -> None:
    z = colour_values(s, s.loss.T)
    lift = 0.012 * float(np.nanmax(z) - np.nanmin(z))
    fig.add_trace(
        go.Surface(
            x=s.landscape.coords[0],
            y=s.landscape.coords[1],
            z=z,
            customdata=s.loss.T,
            colorscale=theme.COLOURSCALE,
            showscale=False,
            hovertemplate=(
                f"{s.axis_titles[0]} = %{{x:.3g}}<br>{s.axis_titles[1]} = %{{y:.3g}}"
                "<br>loss = %{customdata:.4g}<extra></extra>"
            ),
            name="landscape",
            meta=f"landscape-{key}",
            scene=scene,
            contours={"z": {"show": True, "usecolormap": True, "project": {"z": True}}},
        )
    )
    path_z = colour_values(s, surface_at(s, s.path)) + lift
    fig.add_trace(
        go.Scatter3d(
            x=s.path[:, 0],
            y=s.path[:, 1],
            z=path_z,
            mode="lines+markers",
            line={"color": colour, "width": 6},
            marker={"size": 2.5, "color": colour},
            name=_path_label(key),
            showlegend=first,
            meta=f"path-{key}",
            hovertemplate="(%{x:.3g}, %{y:.3g})<extra>training path</extra>",
            scene=scene,
        )
    )
    fig.add_trace(
        go.Scatter3d(
            x=s.path[:1, 0],
            y=s.path[:1, 1],
            z=path_z[:1],
            mode="markers",
            marker={"size": 6, "color": "white", "line": {"color": "black", "width": 2}},
            name="start (initial weights)",
            legendgroup="start",
            showlegend=first,
            meta=f"start-{key}",
            scene=scene,
        )
    )
    fig.add_trace(
        go.Scatter3d(
            x=s.path[-1:, 0],
            y=s.path[-1:, 1],
            z=path_z[-1:],
            mode="markers",
            marker={"symbol": "diamond", "size": 6, "color": colour, "line": {"width": 1}},
            name="end of training",
            legendgroup="end",
            showlegend=first,
            meta=f"end-{key}",
            scene=scene,
        )
    )
    for j, (label, (mx, my)) in enumerate(s.marks.items()):
        mz = colour_values(s, surface_at(s, np.array([[mx, my]]))) + lift
        fig.add_trace(
            go.Scatter3d(
                x=[mx],
                y=[my],
                z=mz,
                mode="markers",
                marker={
                    "symbol": MARK_SYMBOLS_3D[j % len(MARK_SYMBOLS_3D)],
                    "size": 7,
                    "color": "white",
                    "line": {"color": "white", "width": 2},
                },
                name=label,
                legendgroup=label,
                showlegend=False,
                meta=f"mark-{key}-{j}",
                scene=scene,
            )
        )
    fig.update_layout(
        {
            scene: {
                "domain": {"x": domain, "y": [0.0, 1.0]},
                "xaxis": {"title": {"text": short(s.axis_titles[0])}},
                "yaxis": {"title": {"text": short(s.axis_titles[1])}},
                "zaxis": {"title": {"text": loss_title(s)}},
                "aspectmode": "manual",
                "aspectratio": {"x": 1, "y": 1, "z": 0.65},
                "camera": CAMERA,
            }
        }
    )


SWEEP_HEIGHT = 250
MUTED_BAR = "#c3c9d6"


def sweep_figure(rows, width: int, *, revision: int = 1) -> go.Figure:
    """Bars: the non-convex share of the random slice at every width; the chosen one dark.
    rows: ((width, share in [0, 1], final loss), ...) as `networks.width_sweep` gives."""
    labels = [str(w) for w, _, _ in rows]
    shares = [100 * share for _, share, _ in rows]
    colours = [theme.OPTIMIZER_COLOURS["momentum"] if w == width else MUTED_BAR for w, _, _ in rows]
    fig = go.Figure(
        layout=theme.base_layout(
            height=SWEEP_HEIGHT,
            margin={"l": 52, "r": 8, "t": 30, "b": 44},
            showlegend=False,
            datarevision=revision,
        )
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=shares,
            marker={"color": colours},
            customdata=[[loss] for _, _, loss in rows],
            hovertemplate="width %{x}<br>non-convex: %{y:.0f}% of the slice"
            "<br>final training loss %{customdata[0]:.3g}<extra></extra>",
            meta="sweep",
        )
    )
    fig.update_layout(
        title={"text": "Non-convex share of the random slice", "font": {"size": 13}, "x": 0.5},
        xaxis={"title": {"text": "width", "font": {"size": 12}}, "type": "category"},
        yaxis={
            "title": {"text": "% of the slice", "font": {"size": 12}},
            "range": [0, 100],
            "ticks": "outside",
        },
    )
    return fig


def surface_at(s: Slice, points) -> np.ndarray:
    """The slice's loss at points (T, 2), bilinear between grid points, clipped to the grid."""
    (x, y), values = s.landscape.coords, s.loss
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    px = np.clip(points[:, 0], x[0], x[-1])
    py = np.clip(points[:, 1], y[0], y[-1])
    i = np.clip(np.searchsorted(x, px) - 1, 0, len(x) - 2)
    j = np.clip(np.searchsorted(y, py) - 1, 0, len(y) - 2)
    tx = (px - x[i]) / (x[i + 1] - x[i])
    ty = (py - y[j]) / (y[j + 1] - y[j])
    return (
        values[i, j] * (1 - tx) * (1 - ty)
        + values[i + 1, j] * tx * (1 - ty)
        + values[i, j + 1] * (1 - tx) * ty
        + values[i + 1, j + 1] * tx * ty
    )
