"""The symmetry page's two charts: the decision boundaries of the trained and the swapped
network on the moons, and the loss along paths between two trained networks.

Fixed trace orders (tests read them): boundary: 0 the trained network's P(class 1) as a pale
map, 1 its boundary, 2 the swapped network's boundary, 3 and 4 the training points of each
class. Paths: 0 the chord between the endpoint losses, then one line per path in `PATH_ORDER`
(each present, empty until computed), then the two endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from losslab.plot import style
from losslab.web import theme

BOUNDARY_HEIGHT = 440  # equal axes: the map is as wide as this allows (>= 300 px on a phone)
PATHS_HEIGHT = 400
PATHS_NARROW_HEIGHT = 380
CLASS_COLOURS = ("#1f77b4", "#ff7f0e")
PALE = [[0.0, "#dbe7f3"], [0.5, "#f4f4f4"], [1.0, "#fde7d2"]]
TRAINED_LINE = "#111827"
SWAPPED_LINE = style.TRAJECTORY_COLOUR
PATH_ORDER = ("before", "after", "bezier")
PATH_COLOURS = {"before": "#d62728", "after": "#1f77b4", "bezier": "#2ca02c"}
PATH_DASH = {"before": "solid", "after": "solid", "bezier": "dot"}
CHORD_COLOUR = "#6b7280"
LOSS_FLOOR = 1e-8  # a loss shown on the log axis is at least this (the hover says the true one)


def boundary(
    grid_x: np.ndarray,
    grid_y: np.ndarray,
    margin: np.ndarray,
    swapped_margin: np.ndarray,
    points: np.ndarray,
    classes: np.ndarray,
    *,
    revision: int,
) -> go.Figure:
    """Where each network says class 1 (margin > 0): the trained one's pale map and boundary,
    the swapped one's boundary dashed on top. margin, swapped_margin: (ny, nx) logit(1) -
    logit(0), rows are y. points: (N, 2), classes: (N,) 0 or 1."""
    probability = 1.0 / (1.0 + np.exp(-margin))
    # one line where the margin is 0, in the trace's own line colour ("none": no colour scale)
    level = {"start": 0.0, "end": 0.0, "size": 1.0, "coloring": "none", "showlabels": False}
    traces = [
        go.Heatmap(
            x=grid_x,
            y=grid_y,
            z=probability,
            zmin=0.0,
            zmax=1.0,
            colorscale=PALE,
            showscale=False,
            hovertemplate="x\u2081 %{x:.2f}, x\u2082 %{y:.2f}<br>P(class 1) %{z:.2f}"
            "<extra></extra>",
            meta="probability",
        ),
        go.Contour(
            x=grid_x,
            y=grid_y,
            z=margin,
            contours=level,
            line={"color": TRAINED_LINE, "width": 5},
            showscale=False,
            hoverinfo="skip",
            name="boundary of the trained network",
            showlegend=True,
            meta="boundary-trained",
        ),
        go.Contour(
            x=grid_x,
            y=grid_y,
            z=swapped_margin,
            contours=level,
            line={"color": SWAPPED_LINE, "width": 2.2, "dash": "dash"},
            showscale=False,
            hoverinfo="skip",
            name="after your swaps",
            showlegend=True,
            meta="boundary-swapped",
        ),
    ]
    for k in (0, 1):
        chosen = points[classes == k]
        traces.append(
            go.Scatter(
                x=chosen[:, 0],
                y=chosen[:, 1],
                mode="markers",
                marker={
                    "size": 5,
                    "color": CLASS_COLOURS[k],
                    "line": {"color": "white", "width": 0.5},
                },
                name=f"class {k}",
                showlegend=False,
                hovertemplate=f"class {k}<extra></extra>",
                meta=f"class-{k}",
            )
        )
    figure = go.Figure(traces)
    figure.update_layout(
        theme.base_layout(
            margin={"l": 40, "r": 10, "t": 40, "b": 36},
            datarevision=revision,
            uirevision="boundary",
            dragmode=False,
        )
    )
    figure.update_xaxes(
        range=[float(grid_x[0]), float(grid_x[-1])],
        title={"text": "x\u2081"},
        fixedrange=True,
        constrain="domain",  # equal axes shrink the plot, never pad the map with blank
    )
    figure.update_yaxes(
        range=[float(grid_y[0]), float(grid_y[-1])],
        title={"text": "x\u2082", "standoff": 2},
        scaleanchor="x",
        fixedrange=True,
        constrain="domain",
    )
    return figure


def paths(
    t: np.ndarray,
    losses: Mapping[str, np.ndarray],
    labels: Mapping[str, str],
    *,
    revision: int,
) -> go.Figure:
    """Loss against t (0: network A, 1: network B) for each computed path in `losses`
    ("before": the straight line as trained, "after": after weight matching, "bezier"), with
    the chord between the endpoint losses dashed (drawn at every t: the y axis is log, where
    the chord is not straight). labels: the legend text of each path."""
    first = np.asarray(losses[next(iter(losses))], dtype=np.float64)
    ends = (float(first[0]), float(first[-1]))
    chord = (1 - t) * ends[0] + t * ends[1]
    traces = [
        go.Scatter(
            x=t,
            y=chord,
            mode="lines",
            line={"color": CHORD_COLOUR, "width": 1.5, "dash": "dash"},
            name="chord between the ends",
            hoverinfo="skip",
            meta="chord",
        )
    ]
    for key in PATH_ORDER:
        values = losses.get(key)
        shown = values is not None
        traces.append(
            go.Scatter(
                x=t if shown else [],
                y=np.maximum(values, LOSS_FLOOR) if shown else [],
                mode="lines+markers",
                line={"color": PATH_COLOURS[key], "width": 2.4, "dash": PATH_DASH[key]},
                marker={"size": 5},
                name=labels.get(key, key),
                visible=True if shown else "legendonly",
                showlegend=shown,
                customdata=values if shown else [],
                hovertemplate=f"{labels.get(key, key)}<br>t %{{x:.2f}}: loss %{{customdata:.3g}}"
                "<extra></extra>",
                meta=f"path-{key}",
            )
        )
    traces.append(
        go.Scatter(
            x=[0.0, 1.0],
            y=list(ends),
            mode="markers+text",
            marker={"size": 12, "color": TRAINED_LINE, "symbol": "circle"},
            text=["A", "B"],
            textposition=["top right", "top left"],
            textfont={"size": 14},
            showlegend=False,
            hovertemplate="network %{text}: loss %{y:.3g}<extra></extra>",
            meta="ends",
        )
    )
    figure = go.Figure(traces)
    figure.update_layout(
        theme.base_layout(
            margin={"l": 56, "r": 14, "t": 12, "b": 40},
            legend={**theme.LEGEND_ABOVE, "orientation": "v", "y": -0.18, "yanchor": "top"},
            datarevision=revision,
            uirevision="paths",
        )
    )
    figure.update_xaxes(title={"text": "t (0: network A, 1: network B)"}, range=[-0.04, 1.04])
    figure.update_yaxes(title={"text": "training loss (log scale)"}, type="log")
    return figure
