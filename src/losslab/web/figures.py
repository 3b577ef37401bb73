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

from losslab.plot import backend_plotly
from losslab.plot.scene import Arrows, Panel, Scene
from losslab.web import theme

RASTER_RESOLUTION = 320  # grid points a side of the contour image
HOVER_STRIDE = 4  # the invisible heatmap takes every 4th grid point: 80 x 80 hover cells
SURFACE_RESOLUTION = (
    128  # grid of the 3-D surface: fine enough that a narrow valley has no saw-tooth
)

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


def draw(
    scene: Scene,
    *,
    revision: int,
    uirevision=None,
    raster: bool = True,
    camera: dict | None = None,
    colourbar: dict | None = None,
    spacing: float | None = None,
    **layout,
) -> go.Figure:
    """The scene as the lab's figure: raster contours (unless `raster` is False: a figure that
    is never animated can afford contour traces), the lab's theme with `layout` on top, no
    fixed size unless `layout` gives one (the page's graph decides), `revision` as the layout's
    datarevision; `camera`, `colourbar`, `spacing`: the backend's options. On a phone the
    browser stacks the panels (`narrow_plan`, carried in layout.meta)."""
    figure = backend_plotly.draw(
        scene,
        raster=raster,
        hover_stride=HOVER_STRIDE,
        uirevision=uirevision,
        datarevision=revision,
        camera=camera,
        colourbar=colourbar,
        spacing=spacing,
        layout=theme.base_layout(**{"height": None, "width": None, **layout}),
    )
    figure.update_layout(meta={"narrow": narrow_plan(figure)})
    return figure


# Phone heights (px) of graphs whose two panels stack there: the race's map over its losses,
# the noise page's two basin maps, the neural page's two convex models.
RACE_NARROW_HEIGHT = 900
MAP_NARROW_HEIGHT = 580  # one map under a legend of several runs
BASINS_NARROW_HEIGHT = 820
CONVEX_NARROW_HEIGHT = 1060
# A panel's share of a phone's height: a map (equal axes) or a 3-D scene gets twice what a
# panel of lines (losses per step, bars) does.
MAP_SHARE, LINES_SHARE = 1.0, 0.5


def narrow_plan(figure: go.Figure) -> dict:
    """How a phone draws `figure` (assets/losslab_narrow.js): its panels top to bottom (left to
    right here), each as {"x", "y"} axis names or {"scene"}, its `share` of the height, `bars`
    (the indices of the traces whose colour bar it owns) and `title` (the index of its title in
    layout.annotations, or None)."""
    notes = list(figure.layout.annotations or ())
    panels = []
    for col in range(1, _columns(figure) + 1):
        ref = figure.get_subplot(1, col)
        if hasattr(ref, "camera"):  # a 3-D scene
            names, domain, share = {"scene": ref.plotly_name}, ref.domain.x, MAP_SHARE
            where = (ref.plotly_name,)
        else:
            x, y = ref.xaxis.plotly_name, ref.yaxis.plotly_name
            names, domain = {"x": x, "y": y}, ref.xaxis.domain
            share = MAP_SHARE if ref.yaxis.scaleanchor else LINES_SHARE
            where = (x.replace("axis", ""), y.replace("axis", ""))
        bars = [i for i, trace in enumerate(figure.data) if _on(trace, where) and _has_bar(trace)]
        centre = (domain[0] + domain[1]) / 2
        title = next(
            (
                i
                for i, note in enumerate(notes)
                if note.xref == "paper" and note.yanchor == "bottom" and abs(note.x - centre) < 1e-6
            ),
            None,
        )
        panels.append({**names, "share": share, "bars": bars, "title": title})
    return {"panels": panels}


def _columns(figure: go.Figure) -> int:
    grid = getattr(figure, "_grid_ref", None)  # make_subplots' grid: rows of columns
    return len(grid[0]) if grid else 1


def _on(trace, where: tuple) -> bool:
    """Whether `trace` is drawn on the subplot `where`: (scene name,) or (x id, y id)."""
    if len(where) == 1:
        return (getattr(trace, "scene", None) or "scene") == where[0]
    return (trace["xaxis"] or "x", trace["yaxis"] or "y") == where


def _has_bar(trace) -> bool:
    kinds = ("heatmap", "contour", "surface")
    return trace.type in kinds and trace.showscale is not False  # plotly.js shows it by default


# 3-D explorer: from high up, so that a path along a valley floor stays in view.
EXPLORER_CAMERA = {"eye": {"x": 1.1, "y": -1.3, "z": 1.7}}


def runs(scene: Scene, *, revision: int, uirevision=None) -> go.Figure:
    """A race or noise figure: with a loss panel, the map's colour bar sits between the two
    panels with its title on top, clear of the losses' axis title."""
    if len(scene.panels) == 1:
        return draw(scene, revision=revision, uirevision=uirevision)
    return draw(
        scene,
        revision=revision,
        uirevision=uirevision,
        colourbar={"len": 0.8, "thickness": 12, "title": {"side": "top"}},
        spacing=0.17,
    )


# -- the neural-landscapes page: models side by side, no animation -----------------------------

VIEWS = ("contour", "3d")
CONVEX_HEIGHT = 480  # two maps side by side, each over 300 px wide
NETWORK_HEIGHT = 500
SWEEP_HEIGHT = 270
LEGEND_BELOW = {**theme.LEGEND_ABOVE, "y": -0.2, "yanchor": "top"}
MARGINS = {
    # t: the panels' titles sit below the mode bar (about 25 px at the top right)
    "contour": {"l": 64, "r": 16, "t": 54, "b": 104},
    "3d": {"l": 10, "r": 10, "t": 54, "b": 64},
}
CAMERA = {"eye": {"x": 1.3, "y": -1.3, "z": 0.95}}


def lessons(scene: Scene, view: str, *, height: int, revision: int) -> go.Figure:
    """Models' landscapes side by side (scenes.lessons_scene), legend below."""
    return draw(
        scene,
        revision=revision,
        raster=False,
        camera=CAMERA,
        spacing=0.2 if view == "contour" else None,  # room for a colour bar
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
    place = {"scene": "scene"} if panel.kind == "surface" else {"xaxis": xaxis, "yaxis": yaxis}
    if all(isinstance(item, backend_plotly.STANDALONE) for item in items):
        # a click's path and markers: plain dicts, no Figure nor validation (~6x faster)
        return [backend_plotly.item_json(item, panel) | place for item in items]
    figure = backend_plotly.draw(Scene((replace(panel, items=tuple(items)),)))
    return [trace.to_plotly_json() | place for trace in figure.data]


def annotations(arrows: Sequence[Arrows]) -> list[dict]:
    """Headed arrows as the layout annotations `draw` makes of them (what a patch replaces)."""
    return [note for item in arrows for note in backend_plotly.eigen_annotations(item)]


def axes(panel: Panel) -> tuple[dict, dict]:
    """The x and y axis settings `draw` gives a 2-D panel (range, type, title) as plain dicts,
    for a patch of a panel whose ranges change with its data."""
    return backend_plotly.axis_layout(panel)


def sweep(
    scene: Scene, *, revision: int, dot: str = "%{y:.0f}% of its slice curves downward"
) -> go.Figure:
    """The width chart (scenes.sweep_scene) in the narrow side panel. Its pointer's height
    means nothing (it only points): no hover there, the bar's own hover says it all.
    dot: what the hover of this network's dot says after its name (a plotly template)."""
    figure = draw(
        scene,
        revision=revision,
        height=SWEEP_HEIGHT,
        # the title under the mode bar's row (it spans the narrow column)
        margin={"l": 52, "r": 8, "t": 58, "b": 44},
        title={
            "font": {"size": 13},
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 34},
        },
    )
    figure.update_traces(hoverinfo="skip", hovertemplate=None, selector={"meta": "sweep-pointer"})
    return figure.for_each_trace(
        lambda trace: trace.update(hovertemplate=f"{trace.name}: {dot}<extra></extra>"),
        selector={"meta": "sweep-this"},
    )
