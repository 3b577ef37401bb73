"""The web lab's figures: its scenes (scenes.py) drawn by the plotly backend with the options
a fast browser needs, and the trace indices that patches and the animation player rely on.

    figure = draw(scenes.explorer_plane(...), revision=3, uirevision="booth")

`draw` asks the backend for the raster filled contour (one banded PNG in `layout.images` under
an invisible heatmap that gives hover values, clicks and the colour bar: `Plotly.animate`
without redraw drops contour layers, plotly.js #4491, never an image), a lighter hover grid,
the lab's theme as the base layout, and `datarevision` / `uirevision`.

Trace indices follow from the scenes' fixed item order and the backend's contract (a Field,
Path, Markers or LegendEntry is one trace, a field of arrows two, headed arrows none: they are
layout annotations). The tables below name them; tests check them against drawn figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import plotly.graph_objects as go

from losslab.plot import backend_plotly, style
from losslab.plot.scene import Arrows, Panel, Scene
from losslab.web import theme

RASTER_RESOLUTION = 320  # grid points a side of the contour image
HOVER_STRIDE = 4  # the invisible heatmap takes every 4th grid point: 80 x 80 hover cells
SURFACE_RESOLUTION = 72  # grid of the 3-D surface

# Explorer, per view: trace index by role.
EXPLORER_TRACES = {
    "contour": {
        "landscape": 0,
        "gradient-outline": 1,
        "gradient": 2,
        "minimum": 3,
        "path": 4,
        "start": 5,
        "end": 6,
    },
    "3d": {"landscape": 0, "minimum": 1, "path": 2, "start": 3, "end": 4},
}
# Race and noise: 0 landscape, 1 minima, then per run i: path, start, end at RUN_BASE + 3 i;
# with the loss panel, run i's loss line at RUN_BASE + 3 n + i (n runs); the legend last.
RUN_BASE = 2
RUN_STRIDE = 3
# Basin maps: per map i: basins, path, start, end at 4 i.
BASIN_STRIDE = 4
# Curvature inspector: 0 landscape, 1-4 critical points by kind, 5 the inspected point,
# 6 the flat eigen-directions (the others are layout annotations), then the legend.
CURVATURE_POINT = 5
CURVATURE_FLAT = 6
# Descent in 1-D.
DESCENT_TRACES = {"curve": 0, "minimum": 1, "path": 2, "head": 3, "tangent": 4}


def draw(scene: Scene, *, revision: int, uirevision=None, camera=None, **layout) -> go.Figure:
    """The scene as the lab's figure: raster contours, the lab's theme (with `layout` on top),
    no fixed size unless `layout` gives one (the page's graph decides), `revision` as the
    layout's datarevision, `camera` for 3-D panels."""
    return backend_plotly.draw(
        scene,
        raster=True,
        hover_stride=HOVER_STRIDE,
        uirevision=uirevision,
        datarevision=revision,
        camera=camera,
        layout=theme.base_layout(**{"height": None, "width": None, **layout}),
    )


# -- the neural-landscapes page: models side by side, no animation -----------------------------

VIEWS = ("contour", "3d")
CONVEX_HEIGHT = 430
NETWORK_HEIGHT = 500
SWEEP_HEIGHT = 250
LEGEND_BELOW = {**theme.LEGEND_ABOVE, "y": -0.2, "yanchor": "top"}
MARGINS = {
    "contour": {"l": 64, "r": 16, "t": 34, "b": 104},
    "3d": {"l": 10, "r": 10, "t": 34, "b": 64},
}
CAMERA = {"eye": {"x": 1.3, "y": -1.3, "z": 0.95}}


def lessons(scene: Scene, view: str, *, height: int, revision: int) -> go.Figure:
    """Models' landscapes side by side (scenes.lessons_scene), legend below."""
    return draw(
        scene,
        revision=revision,
        camera=CAMERA,
        height=height,
        legend=LEGEND_BELOW,
        margin=MARGINS[view],
    )


def run_indices(i: int, n_runs: int, *, loss_panel: bool) -> dict[str, int]:
    """Where run i of n_runs sits in a race or noise figure."""
    base = RUN_BASE + RUN_STRIDE * i
    out = {"path": base, "start": base + 1, "end": base + 2}
    if loss_panel:
        out["loss"] = RUN_BASE + RUN_STRIDE * n_runs + i
    return out


def traces(panel: Panel, items: Sequence, *, xaxis: str = "x", yaxis: str = "y") -> list[dict]:
    """The traces `draw` makes of `items` on `panel` (its kind and axis labels decide hovers
    and 3-D), as plain dicts for a Dash Patch; xaxis, yaxis: the subplot they belong to."""
    figure = backend_plotly.draw(Scene((replace(panel, items=tuple(items)),)))
    out = []
    for trace in figure.data:
        if panel.kind != "surface":
            trace.update(xaxis=xaxis, yaxis=yaxis)
        out.append(trace.to_plotly_json())
    return out


def annotations(arrows: Sequence[Arrows]) -> list[dict]:
    """Headed arrows as the layout annotations `draw` makes of them (what a patch replaces)."""
    return [note for item in arrows for note in backend_plotly.eigen_annotations(item)]


def axes(panel: Panel) -> tuple[dict, dict]:
    """The x and y axis settings `draw` gives a 2-D panel (range, type, title) as plain dicts,
    for a patch of a panel whose ranges change with its data."""
    layout = backend_plotly.draw(Scene((panel,))).layout
    return layout.xaxis.to_plotly_json(), layout.yaxis.to_plotly_json()


MUTED_BAR = "#c3c9d6"


def sweep_figure(rows, width: int, *, revision: int = 1) -> go.Figure:
    """Bars: the non-convex share of the random slice at every width; the chosen one dark.
    rows: ((width, share in [0, 1], final loss), ...) as `networks.width_sweep` gives."""
    labels = [str(w) for w, _, _ in rows]
    shares = [100 * share for _, share, _ in rows]
    colours = [style.OPTIMIZER_COLOURS["momentum"] if w == width else MUTED_BAR for w, _, _ in rows]
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
