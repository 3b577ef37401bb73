"""Plotly figures for the web lab, built so that the browser stays fast.

Filled contours are drawn as one raster image in `layout.images` (banded Viridis with darker
pixels on the band edges, so it reads as a filled contour plot), with an invisible heatmap on
top that gives hover values, clicks and the colour bar. An image is never dropped by
`Plotly.animate(..., {redraw: false})`, which leaves contour and heatmap layers behind
(plotly.js #4491), and one PNG is much lighter than a contour trace to send and to draw.

Every figure keeps its traces at fixed indices (the `*_TRACES` constants), so a click can
patch just the paths, and the animation player knows which traces to move. Traces carry a
`meta` tag saying what they are, as in `losslab.plot.interactive`.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from losslab.attraction import BasinMap
from losslab.curvature import CriticalPoint
from losslab.descent import Trajectory
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import _common as common
from losslab.plot._common import Run
from losslab.web import theme

RASTER_RESOLUTION = 320  # pixels a side of the contour image
HOVER_STRIDE = 4  # the invisible heatmap takes every 4th grid point: 80 x 80 hover cells
SURFACE_RESOLUTION = 72  # grid of the 3-D surface
N_LEVELS = common.N_LEVELS
EDGE_SHADE = 0.68  # a contour line darkens its pixels to this fraction of the band colour
HOVER_2D = "w1 = %{x:.4g}<br>w2 = %{y:.4g}<br>loss = %{customdata:.4g}<extra></extra>"
PATH_HOVER = (
    "step %{customdata[0]:d}<br>w1 = %{x:.4g}<br>w2 = %{y:.4g}<br>"
    "loss = %{customdata[1]:.4g}<extra>%{meta}</extra>"
)

# Explorer (both views): trace index by role.
EXPLORER_TRACES = {
    "landscape": 0,
    "gradient-outline": 1,
    "gradient": 2,
    "crosshair": 3,
    "minimum": 4,
    "path": 5,
    "start": 6,
    "end": 7,
}
# Race and noise figures: the shared traces, then per run path, end [, loss] from RUN_BASE.
RUN_BASE = 4
# Curvature inspector.
CURVATURE_KINDS = ("minimum", "saddle", "maximum", "degenerate")
CURVATURE_POINT = 1 + len(CURVATURE_KINDS)


# -- colour scale -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """How losses become colours (and heights in 3-D): a plain, JSON-able summary of a
    `Colouring`, kept in the browser's store so that a patched path is lifted exactly as the
    figure it lands on. `from_dict` checks what comes back from the browser."""

    log: bool
    shift: float
    eps: float
    lo: float
    hi: float
    label: str

    @classmethod
    def of(cls, colouring: common.Colouring) -> Scale:
        return cls(
            colouring.log,
            float(colouring.shift),
            float(colouring.eps),
            float(colouring.lo),
            float(colouring.hi),
            colouring.label,
        )

    def to_dict(self) -> dict:
        return {
            "log": self.log,
            "shift": self.shift,
            "eps": self.eps,
            "lo": self.lo,
            "hi": self.hi,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data) -> Scale:
        try:
            numbers = [float(data[k]) for k in ("shift", "eps", "lo", "hi")]
            log, label = bool(data["log"]), str(data["label"])[:200]
        except (TypeError, KeyError, ValueError):
            raise LosslabError("the page state is damaged: reload the page.") from None
        if not all(math.isfinite(v) for v in numbers) or not numbers[2] < numbers[3]:
            raise LosslabError("the page state is damaged: reload the page.")
        return cls(log, *numbers, label)

    def transform(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if not self.log:
            return values
        with np.errstate(invalid="ignore", divide="ignore"):
            floor = 10.0**self.lo if self.eps == 0.0 else 0.0
            return np.log10(np.maximum(values - self.shift, floor) + self.eps)

    def height(self, values) -> np.ndarray:
        """z of a path lifted a hair above the 3-D surface."""
        lift = 0.01 * (self.hi - self.lo)
        return np.clip(self.transform(values), self.lo, self.hi) + lift


# -- the backdrop: raster image + invisible heatmap ----------------------------------------------


@dataclass(frozen=True)
class Backdrop:
    """A 2-D objective on a grid over its window, ready to draw."""

    land: common.Landscape2D

    @property
    def box(self) -> np.ndarray:
        return self.land.box

    @property
    def scale(self) -> Scale:
        return Scale.of(self.land.colouring)

    def image(self, xref: str = "x", yref: str = "y") -> dict:
        """The banded contour raster, placed so that pixel centres sit on the grid points."""
        x, y = self.land.x, self.land.y
        dx, dy = (x[-1] - x[0]) / (len(x) - 1), (y[-1] - y[0]) / (len(y) - 1)
        return {
            "source": raster_uri(self.land.colouring),
            "xref": xref,
            "yref": yref,
            "x": float(x[0] - dx / 2),
            "y": float(y[-1] + dy / 2),
            "sizex": float(dx * len(x)),
            "sizey": float(dy * len(y)),
            "sizing": "stretch",
            "layer": "below",
            "xanchor": "left",
            "yanchor": "top",
            "name": "landscape",
        }

    def heatmap(self, *, xaxis: str = "x", yaxis: str = "y", colorbar: dict | None = None):
        """Invisible, on top of the image: hover values, click targets and the colour bar."""
        col, s = self.land.colouring, HOVER_STRIDE
        colorbar = dict(colorbar or {})
        title = {"text": col.label, "side": "right", **colorbar.pop("title", {})}
        # float32 is plenty for hover values and halves what the browser downloads; on a
        # linear scale the coloured value is the loss itself, so no separate customdata.
        z = col.z[::s, ::s].astype(np.float32)
        custom = col.raw[::s, ::s].astype(np.float32) if col.log else None
        return go.Heatmap(
            x=self.land.x[::s],
            y=self.land.y[::s],
            z=z,
            customdata=custom,
            colorscale=theme.COLOURSCALE,
            zmin=col.lo,
            zmax=col.hi,
            opacity=0,
            hovertemplate=HOVER_2D if col.log else HOVER_2D.replace("customdata", "z"),
            colorbar={"title": title, "thickness": 14, **colorbar},
            name="landscape",
            meta="landscape",
            showlegend=False,
            xaxis=xaxis,
            yaxis=yaxis,
        )


def backdrop(objective: Objective, *, bounds=None, resolution: int = RASTER_RESOLUTION):
    return Backdrop(common.landscape_2d(objective, bounds, resolution, None, what="web lab"))


LINE_SHADES = (
    4  # a contour line's weight takes one of 4 values: the image fits a 256-colour palette
)


@dataclass(frozen=True)
class Raster:
    """A palette image: `palette[indices]` is the RGB of each pixel; `transparent` marks the
    pixels where the objective is not finite. Row 0 is the top of the picture (largest y)."""

    indices: np.ndarray  # (n_y, n_x) uint8
    palette: np.ndarray  # (k, 3) uint8
    transparent: int

    def rgb(self) -> np.ndarray:
        return self.palette[self.indices]

    def png(self) -> bytes:
        image = Image.fromarray(self.indices, mode="P")
        image.putpalette(self.palette.reshape(-1).tolist())
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", transparency=self.transparent, optimize=False)
        return buffer.getvalue()


def raster(colouring: common.Colouring, levels: int = N_LEVELS) -> Raster:
    """Viridis in `levels` flat bands with anti-aliased contour lines about a pixel wide where
    the value crosses a band edge, as an 8-bit palette image (small to send, quick to draw).

    The weight of the line at a pixel is 1 - its distance to the nearest level in pixels: the
    level coordinate s = levels * t changes by |grad s| per pixel, so |s - round(s)| / |grad s|
    is that distance, without tracing a single contour."""
    z = colouring.z
    finite = np.isfinite(z)
    t = (np.where(finite, z, colouring.lo) - colouring.lo) / (colouring.hi - colouring.lo)
    s = np.clip(t, 0.0, 1.0) * levels
    band = np.clip(np.floor(s), 0, levels - 1).astype(np.int64)
    gy, gx = np.gradient(s)
    nearest = np.round(s)
    distance = np.abs(s - nearest) / np.maximum(np.hypot(gx, gy), 1e-9)
    weight = np.clip(1.0 - distance, 0.0, 1.0)
    weight[(nearest <= 0) | (nearest >= levels)] = 0.0  # no line at the clipped ends
    shade = np.round(weight * (LINE_SHADES - 1)).astype(np.int64)
    transparent = levels * LINE_SHADES
    indices = np.where(finite, band * LINE_SHADES + shade, transparent)
    colours = theme.viridis_rgb((np.arange(levels) + 0.5) / levels)  # (levels, 3)
    darken = 1.0 - (1.0 - EDGE_SHADE) * np.arange(LINE_SHADES) / (LINE_SHADES - 1)
    palette = (colours[:, None, :] * darken[None, :, None]).reshape(-1, 3)
    palette = np.vstack([palette, [[255.0, 255.0, 255.0]]]).round().astype(np.uint8)
    return Raster(indices[::-1].astype(np.uint8), palette, transparent)


def raster_uri(colouring: common.Colouring, levels: int = N_LEVELS) -> str:
    png = raster(colouring, levels).png()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- shared traces ------------------------------------------------------------------------------


def crosshair_trace(minima: np.ndarray, box: np.ndarray, **axes) -> go.Scatter:
    """A dashed crosshair through every known minimum (one trace, segments split by None)."""
    arm = 0.07 * float((box[:, 1] - box[:, 0]).max())
    xs: list = []
    ys: list = []
    for x, y in minima:
        xs += [x - arm, x + arm, None, x, x, None]
        ys += [y, y, None, y - arm, y + arm, None]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": "white", "width": 1.6, "dash": "dash"},
        name=common.MINIMUM_LABEL,
        legendgroup="minimum",
        hoverinfo="skip",
        meta="crosshair",
        showlegend=False,
        **axes,
    )


def minimum_legend(minima: np.ndarray) -> go.Scatter:
    """A legend-only entry for the crosshairs, drawn dark: white would vanish on the legend.
    Always the last trace of a figure, so it never moves the indices of the others."""
    return go.Scatter(
        x=[None],
        y=[None],
        mode="lines+markers",
        line={"color": "#333", "width": 1.5, "dash": "dash"},
        marker={"symbol": "circle-open", "size": 9, "color": "#333", "line": {"width": 2}},
        name=common.MINIMUM_LABEL,
        legendgroup="minimum",
        showlegend=bool(len(minima)),
        hoverinfo="skip",
        meta="legend",
    )


def minima_trace(minima: np.ndarray, **axes) -> go.Scatter:
    return go.Scatter(
        x=minima[:, 0] if len(minima) else [],
        y=minima[:, 1] if len(minima) else [],
        mode="markers",
        marker={"symbol": "circle-open", "size": 9, "color": "white", "line": {"width": 2}},
        name=common.MINIMUM_LABEL,
        legendgroup="minimum",
        showlegend=False,
        meta="minimum",
        hovertemplate="known minimum<br>w1 = %{x:.4g}<br>w2 = %{y:.4g}<extra></extra>",
        **axes,
    )


def one_run(trajectory: Trajectory) -> Run:
    """The drawable arrays of an unbatched trajectory."""
    (run,) = common.runs(trajectory)
    return run


def path_trace(run: Run, *, name: str | None = None, **axes) -> go.Scatter:
    x, y = run.path[:, 0], run.path[:, 1]
    return go.Scatter(
        x=x,
        y=y,
        mode="lines+markers",
        name=name or run.legend,
        line={"color": run.colour, "width": 2.5},
        marker={"size": common.marker_size(len(x), 6.5), "color": run.colour},
        customdata=np.column_stack([run.steps, run.losses]),
        hovertemplate=PATH_HOVER,
        meta=run.label,
        legendgroup=run.label,
        **axes,
    )


def start_trace(point: Sequence[float], colour: str = "white", **axes) -> go.Scatter:
    return go.Scatter(
        x=[point[0]],
        y=[point[1]],
        mode="markers",
        name=f"start {common.point_text(point, 3)}",
        marker={
            "symbol": "circle",
            "size": 13,
            "color": colour,
            "line": {"color": "black", "width": 2},
        },
        hovertemplate="start<br>w1 = %{x:.4g}<br>w2 = %{y:.4g}<extra></extra>",
        meta="start",
        **axes,
    )


def end_trace(run: Run, **axes) -> go.Scatter:
    if run.diverged:
        marker = {
            "symbol": "x",
            "size": 15,
            "color": theme.DIVERGED,
            "line": {"color": "white", "width": 1},
        }
    else:
        marker = {
            "symbol": "star",
            "size": 17,
            "color": run.colour,
            "line": {"color": "black", "width": 1},
        }
    end, loss = run.path[-1], run.losses[-1]
    return go.Scatter(
        x=[end[0]],
        y=[end[1]],
        mode="markers",
        marker=marker,
        name=common.status_text(run.status, run.stopped_at),
        legendgroup=run.label,
        showlegend=False,
        customdata=[[run.stopped_at, loss]],
        hovertemplate=PATH_HOVER,
        meta="diverged" if run.diverged else "end",
        **axes,
    )


def gradient_traces(objective: Objective, box: np.ndarray, show: bool) -> list[go.Scatter]:
    """Uphill gradient arrows (a dark line under a light one); empty traces when hidden, so
    that the trace indices never move."""
    xs: list = []
    ys: list = []
    if show:
        xs, ys = common.arrow_segments(common.gradient_field(objective, box))
    outline = go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": "rgba(0,0,0,0.75)", "width": 3},
        hoverinfo="skip",
        showlegend=False,
        legendgroup="gradient",
        meta="gradient-outline",
    )
    arrows = go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": "white", "width": 1.3},
        hoverinfo="skip",
        name=common.GRADIENT_LABEL,
        showlegend=show,
        legendgroup="gradient",
        meta="gradient",
    )
    return [outline, arrows]


def axes_2d(fig: go.Figure, box: np.ndarray, *, x: str = "xaxis", y: str = "yaxis") -> None:
    """Labelled axes over exactly the window, one unit the same length on both."""
    anchor = "x" + x.removeprefix("xaxis")
    fig.update_layout(
        {
            x: {
                "title": {"text": "w1 (x)"},
                "range": [float(box[0, 0]), float(box[0, 1])],
                "constrain": "domain",
                "showgrid": False,
                "zeroline": False,
                "ticks": "outside",
            },
            y: {
                "title": {"text": "w2 (y)"},
                "range": [float(box[1, 0]), float(box[1, 1])],
                "scaleanchor": anchor,
                "scaleratio": 1,
                "constrain": "domain",
                "showgrid": False,
                "zeroline": False,
                "ticks": "outside",
            },
        }
    )


# -- explorer -----------------------------------------------------------------------------------


def explorer_2d(
    objective: Objective, ground: Backdrop, run: Run, *, arrows: bool, revision: int
) -> go.Figure:
    minima = common.minima_array(objective)
    fig = go.Figure(layout=theme.base_layout(datarevision=revision, uirevision=objective.name))
    fig.add_trace(ground.heatmap())
    for trace in gradient_traces(objective, ground.box, arrows):
        fig.add_trace(trace)
    fig.add_trace(crosshair_trace(minima, ground.box))
    fig.add_trace(minima_trace(minima))
    fig.add_trace(path_trace(run))
    fig.add_trace(start_trace(run.start, run.colour))
    fig.add_trace(end_trace(run))
    fig.add_trace(minimum_legend(minima))
    fig.update_layout(images=[ground.image()])
    axes_2d(fig, ground.box)
    return fig


def explorer_3d(objective: Objective, run: Run, *, revision: int) -> tuple[go.Figure, Scale]:
    land = common.landscape_2d(objective, None, SURFACE_RESOLUTION, None, what="web lab")
    col = land.colouring
    scale = Scale.of(col)
    minima = common.minima_array(objective)
    fig = go.Figure(layout=theme.base_layout(datarevision=revision, uirevision=objective.name))
    fig.add_trace(
        go.Surface(
            x=land.x,
            y=land.y,
            z=np.clip(col.z, col.lo, col.hi),
            customdata=col.raw,
            colorscale=theme.COLOURSCALE,
            cmin=col.lo,
            cmax=col.hi,
            colorbar={"title": {"text": col.label, "side": "right"}, "thickness": 14},
            hovertemplate=HOVER_2D,
            name="landscape",
            meta="landscape",
            showlegend=False,
        )
    )
    for meta in ("gradient-outline", "gradient"):  # placeholders: arrows are a 2-D view
        fig.add_trace(go.Scatter3d(x=[], y=[], z=[], mode="lines", showlegend=False, meta=meta))
    if len(minima):
        values, _ = common.derivative_at(objective, minima)
        tops = scale.height(values)
        xs = [v for x in minima[:, 0] for v in (x, x, None)]
        ys = [v for y in minima[:, 1] for v in (y, y, None)]
        zs = [v for top in tops for v in (col.lo, top, None)]
    else:
        xs, ys, zs, tops = [], [], [], []
    fig.add_trace(
        go.Scatter3d(
            x=xs,
            y=ys,
            z=zs,
            mode="lines",
            line={"color": "white", "width": 4, "dash": "dash"},
            name=common.MINIMUM_LABEL,
            hoverinfo="skip",
            meta="crosshair",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter3d(
            x=minima[:, 0] if len(minima) else [],
            y=minima[:, 1] if len(minima) else [],
            z=tops,
            mode="markers",
            marker={
                "symbol": "cross",
                "size": 6,
                "color": "white",
                "line": {"color": "black", "width": 2},
            },
            name=common.MINIMUM_LABEL,
            showlegend=bool(len(minima)),
            meta="minimum",
        )
    )
    for trace in path_3d(run, scale):
        fig.add_trace(trace)
    fig.update_layout(
        scene={
            "xaxis": {"title": {"text": "w1 (x)"}, "range": list(land.box[0])},
            "yaxis": {"title": {"text": "w2 (y)"}, "range": list(land.box[1])},
            "zaxis": {"title": {"text": "log10 loss" if col.log else "loss"}},
            "aspectmode": "manual",
            "aspectratio": {"x": 1, "y": 1, "z": 0.7},
            # From high up: a path along a valley floor stays in view.
            "camera": {"eye": {"x": 1.1, "y": -1.3, "z": 1.7}},
        },
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig, scale


def path_3d(run: Run, scale: Scale) -> list[go.Scatter3d]:
    """Path, start and end lifted onto the surface: traces 5, 6, 7 of the 3-D explorer."""
    x, y, z = run.path[:, 0], run.path[:, 1], scale.height(run.losses)
    custom = np.column_stack([run.steps, run.losses])
    hover = (
        "step %{customdata[0]:d}<br>w1 = %{x:.4g}<br>w2 = %{y:.4g}<br>loss = %{customdata[1]:.4g}"
    )
    end = (
        {"symbol": "x", "size": 7, "color": theme.DIVERGED}
        if run.diverged
        else {
            "symbol": "diamond",
            "size": 7,
            "color": run.colour,
            "line": {"color": "black", "width": 1},
        }
    )
    return [
        go.Scatter3d(
            x=x,
            y=y,
            z=z,
            mode="lines+markers",
            name=run.legend,
            line={"color": run.colour, "width": 6},
            marker={"size": 2.5, "color": run.colour},
            customdata=custom,
            hovertemplate=hover + "<extra></extra>",
            meta="path",
        ),
        go.Scatter3d(
            x=x[:1],
            y=y[:1],
            z=z[:1],
            mode="markers",
            name=f"start {common.point_text(run.start, 3)}",
            marker={"size": 7, "color": run.colour, "line": {"color": "white", "width": 2}},
            hoverinfo="skip",
            meta="start",
        ),
        go.Scatter3d(
            x=x[-1:],
            y=y[-1:],
            z=z[-1:],
            mode="markers",
            name=common.status_text(run.status, run.stopped_at),
            marker=end,
            showlegend=False,
            hoverinfo="skip",
            meta="diverged" if run.diverged else "end",
        ),
    ]


def path_2d(run: Run) -> list[go.Scatter]:
    """Path, start and end: traces 5, 6, 7 of the 2-D explorer."""
    return [path_trace(run), start_trace(run.start, run.colour), end_trace(run)]


# -- race and noise: several runs from one start ------------------------------------------------


def runs_figure(
    objective: Objective,
    ground: Backdrop,
    runs: Sequence[Run],
    start: Sequence[float],
    *,
    loss_panel: bool,
    revision: int,
    minima: np.ndarray | None = None,
    first_frame: bool = False,
) -> go.Figure:
    """The landscape with every run's path (left) and, with `loss_panel`, the losses per step
    (right, fixed ranges so that an animation without redraw never needs a rescale).

    Traces: 0 landscape, 1 crosshair, 2 minima, 3 start, then per run i from RUN_BASE + k*i:
    path, end [, loss], k = 3 with the loss panel, else 2. With `first_frame` the runs show only
    their start (the animation that follows draws the rest, with no flash of the end)."""
    minima = common.minima_array(objective) if minima is None else minima
    layout = theme.base_layout(datarevision=revision, uirevision=objective.name)
    fig = go.Figure(layout=layout)
    land_axes = {}
    if loss_panel:
        fig.update_layout(
            xaxis={"domain": [0.0, 0.5]},
            xaxis2={"domain": [0.66, 1.0], "anchor": "y2"},
            yaxis2={"anchor": "x2"},
        )
    colorbar = (
        {"x": 0.5, "xanchor": "left", "len": 0.8, "thickness": 12, "title": {"side": "top"}}
        if loss_panel
        else None
    )
    fig.add_trace(ground.heatmap(colorbar=colorbar))
    fig.add_trace(crosshair_trace(minima, ground.box, **land_axes))
    fig.add_trace(minima_trace(minima, **land_axes))
    fig.add_trace(start_trace(start, "white"))
    for run in runs:
        for trace in run_traces(run, loss_panel=loss_panel, first_frame=first_frame):
            fig.add_trace(trace)
    fig.add_trace(minimum_legend(minima))
    fig.update_layout(images=[ground.image()])
    axes_2d(fig, ground.box)
    if loss_panel:
        fig.update_layout(xaxis2=loss_x_axis(runs), yaxis2=loss_y_axis(runs))
    return fig


def run_traces(run: Run, *, loss_panel: bool, first_frame: bool = False) -> list[go.Scatter]:
    """path, end [, loss] of one run; `first_frame`: cut to the first point, end hidden."""
    traces = [path_trace(run), end_trace(run)]
    if loss_panel:
        traces.append(loss_trace(run))
    if first_frame:
        for trace in traces:
            if trace.meta in ("end", "diverged"):
                trace.update(x=[None], y=[None])
            else:
                trace.update(x=trace.x[:1], y=trace.y[:1])
    return traces


def run_stride(loss_panel: bool) -> int:
    return 3 if loss_panel else 2


def loss_values(run: Run) -> np.ndarray:
    """Losses as drawn on a log axis: values <= 0 are clipped to 1e-16 (the hover keeps the
    true value)."""
    return np.maximum(run.losses, 1e-16)


def loss_trace(run: Run) -> go.Scatter:
    return go.Scatter(
        x=run.steps,
        y=loss_values(run),
        mode="lines",
        line={"color": run.colour, "width": 2.2},
        name=run.label,
        legendgroup=run.label,
        showlegend=False,
        customdata=run.losses,
        hovertemplate="step %{x}<br>loss = %{customdata:.4g}<extra>%{meta}</extra>",
        meta=run.label,
        xaxis="x2",
        yaxis="y2",
    )


def loss_log(runs: Sequence[Run]) -> bool:
    return all(np.all(run.losses >= 0) for run in runs)


def loss_x_axis(runs: Sequence[Run]) -> dict:
    longest = max((len(run.losses) for run in runs), default=2)
    return {
        "title": {"text": "step"},
        "range": [0, max(longest - 1, 1)],
        "domain": [0.66, 1.0],
        "anchor": "y2",
        "ticks": "outside",
    }


def loss_y_axis(runs: Sequence[Run]) -> dict:
    log = loss_log(runs)
    values = np.concatenate([loss_values(r) if log else r.losses for r in runs])
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    return {
        "title": {"text": "loss (log scale)" if log else "loss"},
        "type": "log" if log else "linear",
        "range": [lo - pad, hi + pad],
        "anchor": "x2",
        "ticks": "outside",
        "exponentformat": "power",
    }


def basins_figure(
    maps: Sequence[tuple[str, BasinMap]],
    runs: Sequence[Run],
    start: Sequence[float],
) -> go.Figure:
    """Basin maps side by side, each with its run's path and the shared start. One colour per
    minimum (the page's table names them), grey: no known minimum, black: diverged."""
    n = len(maps)
    fig = go.Figure(layout=theme.base_layout(margin={"l": 60, "r": 20, "t": 36, "b": 52}))
    gap = 0.08
    width = (1 - gap * (n - 1)) / n
    annotations = []
    for i, ((title, basin_map), run) in enumerate(zip(maps, runs, strict=True)):
        suffix = "" if i == 0 else str(i + 1)
        xa, ya = f"x{suffix}", f"y{suffix}"
        k = len(basin_map.minima)
        coords = [c.detach().cpu().double().numpy() for c in basin_map.coords]
        labels = basin_map.labels.detach().cpu().numpy()
        fig.add_trace(
            go.Heatmap(
                x=coords[0],
                y=coords[1],
                z=labels.T,
                colorscale=discrete_colourscale(common.basin_colours(k)),
                zmin=-2.5,
                zmax=k - 0.5,
                showscale=False,
                hovertemplate="w1 = %{x:.4g}<br>w2 = %{y:.4g}<br>basin %{z}<extra></extra>",
                name="basins",
                meta="basins",
                xaxis=xa,
                yaxis=ya,
            )
        )
        fig.add_trace(path_trace(run, xaxis=xa, yaxis=ya).update(showlegend=False))
        fig.add_trace(start_trace(start, "white", xaxis=xa, yaxis=ya).update(showlegend=False))
        fig.add_trace(end_trace(run, xaxis=xa, yaxis=ya))
        lo = i * (width + gap)
        box = np.array([[coords[0][0], coords[0][-1]], [coords[1][0], coords[1][-1]]])
        fig.update_layout({f"xaxis{suffix}": {"domain": [lo, lo + width], "anchor": ya}})
        fig.update_layout({f"yaxis{suffix}": {"anchor": xa}})
        axes_2d(fig, box, x=f"xaxis{suffix}", y=f"yaxis{suffix}")
        annotations.append(
            {
                "text": f"<b>{title}</b>",
                "x": lo + width / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
    fig.update_layout(annotations=annotations, showlegend=False)
    return fig


def discrete_colourscale(colours: Sequence[str]) -> list[list]:
    """Colour i over the i-th equal slice of [0, 1]: a label map, not a gradient."""
    n = len(colours)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


# -- curvature inspector ------------------------------------------------------------------------


def curvature_figure(
    objective: Objective,
    ground: Backdrop,
    critical: Sequence[CriticalPoint],
    inspected: CriticalPoint,
    *,
    revision: int,
) -> go.Figure:
    """Critical points marked by kind (traces 1-4, one per kind, empty when none), the
    inspected point (trace 5) and its eigen-directions as arrows in layout.annotations."""
    fig = go.Figure(layout=theme.base_layout(datarevision=revision, uirevision=objective.name))
    fig.add_trace(ground.heatmap())
    for kind in CURVATURE_KINDS:
        chosen = np.array([p.point.tolist() for p in critical if p.kind == kind]).reshape(-1, 2)
        _, symbol, text = common.CRITICAL_MARKERS[kind]
        fig.add_trace(
            go.Scatter(
                x=chosen[:, 0],
                y=chosen[:, 1],
                mode="markers",
                name=text.removeprefix("critical point: "),
                marker={
                    "symbol": symbol,
                    "size": 12,
                    "color": "white",
                    "line": {"color": "black", "width": 1.5},
                },
                hovertemplate=f"{kind}<br>w1 = %{{x:.4g}}<br>w2 = %{{y:.4g}}<extra></extra>",
                meta=f"critical-{kind}",
                showlegend=bool(len(chosen)),
            )
        )
    fig.add_trace(inspected_trace(inspected))
    for colour, text in (
        (theme.ATTRACTING, "attracting direction (curvature > 0)"),
        (theme.REPELLING, "repelling direction (curvature < 0)"),
    ):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"color": colour, "width": 3},
                name=text,
                meta="legend",
            )
        )
    fig.update_layout(images=[ground.image()], annotations=eigen_annotations(inspected, ground.box))
    axes_2d(fig, ground.box)
    return fig


def inspected_trace(point: CriticalPoint) -> go.Scatter:
    x, y = point.point.tolist()
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        marker={"size": 12, "color": "black", "line": {"color": "white", "width": 2}},
        name=f"inspected point ({point.kind})",
        hovertemplate="inspected<br>w1 = %{x:.4g}<br>w2 = %{y:.4g}<extra></extra>",
        meta="point",
    )


def eigen_annotations(point: CriticalPoint, box: np.ndarray) -> list[dict]:
    """Two arrows per eigen-direction: pointing in (attracting) or out (repelling), longer for
    larger |eigenvalue|; a zero eigenvalue gives a plain grey line."""
    radius = 0.16 * float((box[:, 1] - box[:, 0]).max())
    notes = []
    for arrow in common.eigen_arrows(point, radius):
        for tail, tip in zip(arrow.tails, arrow.tips, strict=True):
            notes.append(
                {
                    "x": float(tip[0]),
                    "y": float(tip[1]),
                    "ax": float(tail[0]),
                    "ay": float(tail[1]),
                    "xref": "x",
                    "yref": "y",
                    "axref": "x",
                    "ayref": "y",
                    "text": "",
                    "showarrow": True,
                    "arrowhead": 0 if arrow.flat else 2,
                    "arrowsize": 1.1,
                    "arrowwidth": 3.5,
                    "arrowcolor": arrow.colour,
                    "standoff": 3,
                    "startstandoff": 3,
                }
            )
    return notes
