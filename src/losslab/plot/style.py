"""The one style table: every colour, marker, line, arrow and colour-scale fact of a losslab
picture, looked up by name. Scenes name their styles (`Markers(style="end")`); the backends read
this table and nothing else, so both draw the same sizes and colours.

Sizes are in points (matplotlib's unit); the plotly backend multiplies them by `PX_PER_PT`, the
one conversion (a CSS pixel is 1/96 inch, a point 1/72 inch).

Backend-free: numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PX_PER_PT = 96 / 72

# -- colour maps --------------------------------------------------------------------------------

# plotly.js's own Viridis stops (src/components/colorscale/scales.js); matplotlib's "viridis" is
# the same map, so a raster drawn from these stops agrees with either backend's colour bar.
VIRIDIS = (
    (0.0, "#440154"),
    (0.06274509803921569, "#48186a"),
    (0.12549019607843137, "#472d7b"),
    (0.18823529411764706, "#424086"),
    (0.25098039215686274, "#3b528b"),
    (0.3137254901960784, "#33638d"),
    (0.3764705882352941, "#2c728e"),
    (0.4392156862745098, "#26828e"),
    (0.5019607843137255, "#21918c"),
    (0.5647058823529412, "#1fa088"),
    (0.6274509803921569, "#28ae80"),
    (0.6901960784313725, "#3fbc73"),
    (0.7529411764705882, "#5ec962"),
    (0.8156862745098039, "#84d44b"),
    (0.8784313725490196, "#addc30"),
    (0.9411764705882353, "#d8e219"),
    (1.0, "#fde725"),
)
# name -> (matplotlib colour map, plotly colour scale)
COLOURMAPS = {"viridis": ("viridis", [[p, c] for p, c in VIRIDIS])}
TEMPLATE = "plotly_white"

LOG_EPS = 1e-12  # log colour of a surface that reaches 0 or below: log10(f - min + LOG_EPS)
# A 3-D log surface adds its 3% quantile of f - min inside the log: a smooth valley floor.
SURFACE_FLOOR_QUANTILE = 0.03
LOG_LOW_QUANTILE = 0.002  # log colour range starts here: one point on a minimum (-12) would
# otherwise squash every other colour
N_LEVELS = 30  # bands of a filled contour
GRADIENT_GRID = 20  # arrows a side of the gradient field
# Points on a 3-D surface sit this share of the colour range above it: plotly depth-tests
# markers against the surface, so they need to clear it; the same height in both backends.
SURFACE_LIFT = 0.02
# plotly's camera eye sits this far from the centre (aspect-ratio units): its default view
# (0.95, -1.65, 1.1) is matplotlib's (elevation 30, azimuth -60) at this distance.
CAMERA_DISTANCE = 2.2

# The interpolation rule, for every picture: bilinear inside the window, NaN outside (a
# picture never invents a value it did not compute; a path lifted onto a surface breaks at
# the edge).
OUTSIDE_WINDOW = np.nan

# -- colours ------------------------------------------------------------------------------------

# One colour per optimizer in every figure and both backends (tab10 without red, which is
# reserved for divergence).
OPTIMIZER_COLOURS = {
    "gd": "#1f77b4",
    "momentum": "#ff7f0e",
    "nesterov": "#2ca02c",
    "newton": "#9467bd",
    "sgd_noise": "#8c564b",
    "adagrad": "#e377c2",
    "rmsprop": "#bcbd22",
    "adam": "#17becf",
}
# For a second run of an already-coloured optimizer (e.g. gd at two learning rates).
EXTRA_COLOURS = (
    "#393b79",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#637939",
    "#8c6d31",
)
DIVERGED_COLOUR = "#d62728"
# Basins: one pastel colour per minimum (Set2, then tab20's light half), grey for "no known
# minimum", black for "diverged".
BASIN_COLOURS = (
    "#66c2a5",
    "#fc8d62",
    "#8da0cb",
    "#e78ac3",
    "#a6d854",
    "#ffd92f",
    "#e5c494",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
)
NO_MINIMUM_COLOUR = "#9e9e9e"
DIVERGED_BASIN_COLOUR = "#000000"
ATTRACTING_COLOUR = "#1f4fd1"  # positive curvature: descent is pulled in along this axis
REPELLING_COLOUR = "#d62728"  # negative curvature: descent is pushed out along this axis
FLAT_COLOUR = "#555555"
TRAJECTORY_COLOUR = "#d62728"  # a network's training path on its slice
MARK_COLOURS = ("#e377c2", "#ff7f0e", "#17becf", "#bcbd22", "#8c564b", "#9467bd")
LOSS_COLOUR = "#1f77b4"
ACCURACY_COLOUR = "#ff7f0e"
SPECTRUM_COLOUR = "#1f77b4"
NODE_COLOUR = "#d62728"

# Paths between two models (losslab connect): the straight line before weight matching, after
# it, and the trained Bezier curve; the same colour on every picture of one connect run.
CONNECT_COLOURS = {"before": "#ff7f0e", "after": "#1f77b4", "bezier": "#2ca02c"}
WIDTH_COLOURS = ("#1f77b4", "#ff7f0e")  # a width figure's first and second curve

MINIMUM_1D_COLOUR = "#2ca02c"
BAR_COLOUR = "#c3c9d6"  # a bar drawn muted, beside the one in a colour of its own
WHISKER_COLOUR = "#333333"  # error bars: dark enough to read on a muted or coloured bar

MINIMUM_LABEL = "known minimum"
GRADIENT_LABEL = "gradient (points uphill)"


# -- markers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkerStyle:
    """symbol: a backend-neutral name (see SYMBOLS); size: points; colour None = the element's
    own colour (a run's); edge: outline colour ('none' for no outline); halo: a dark stroke
    around a white symbol, so it reads on every colour of the map."""

    symbol: str
    size: float
    colour: str | None
    edge: str
    edge_width: float
    halo: bool = False


# Neutral symbol -> (matplotlib marker, plotly 2-D symbol, plotly 3-D symbol). Scatter3d knows
# only circle, circle-open, cross, diamond, diamond-open, square, square-open and x.
SYMBOLS = {
    "circle": ("o", "circle", "circle"),
    "ring": ("o", "circle-open", "circle-open"),
    "star": ("*", "star", "diamond"),
    "x": ("x", "x", "x"),
    "plus": ("+", "cross", "cross"),
    "plus-thin": ("+", "cross-thin", "cross"),  # lines only, in the marker's own colour
    "plus-filled": ("P", "cross", "cross"),
    "x-filled": ("X", "x", "x"),
    "triangle-down": ("v", "triangle-down", "square-open"),
    "triangle-up": ("^", "triangle-up", "diamond-open"),
    "diamond": ("D", "diamond", "diamond"),
    "hexagon": ("h", "hexagon", "diamond"),
    "pentagon": ("p", "pentagon", "diamond"),
    "square": ("s", "square", "square"),
    "tick": ("|", "line-ns", "square"),
}

# plotly draws a plus as a filled cross, which reads much larger than matplotlib's stroked '+'
# of the same size: its plotly size is scaled by this (every other symbol by 1).
PLOTLY_SYMBOL_SCALE = {"plus": 0.6, "plus-filled": 0.8}

CRITICAL_KINDS = ("minimum", "maximum", "saddle", "degenerate", "regular")
CRITICAL_TEXT = {
    "minimum": "critical point: minimum",
    "maximum": "critical point: maximum",
    "saddle": "critical point: saddle",
    "degenerate": "critical point: degenerate",
    "regular": "regular point (gradient not zero)",
}
_CRITICAL_SYMBOLS = {
    "minimum": "triangle-down",
    "maximum": "triangle-up",
    "saddle": "diamond",
    "degenerate": "hexagon",
    "regular": "pentagon",
}
_ANCHOR_SYMBOLS = ("circle", "square", "triangle-up")
_MARK_SYMBOLS = ("plus-filled", "x-filled", "diamond", "triangle-down", "pentagon", "hexagon")

MARKERS: dict[str, MarkerStyle] = {
    # a run: a circle at its start, a star at its end, a red x where it diverged
    "start": MarkerStyle("circle", 9, None, "white", 1.5),
    "end": MarkerStyle("star", 14, None, "black", 0.8),
    "diverged": MarkerStyle("x", 11, DIVERGED_COLOUR, DIVERGED_COLOUR, 2.8),
    "minimum": MarkerStyle("plus", 18, "white", "white", 1.8, halo=True),
    "point": MarkerStyle("circle", 8, "black", "white", 1.5),
    "current": MarkerStyle("circle", 12, None, "black", 1.5),  # where a 1-D descent is now
    "pointer": MarkerStyle("triangle-down", 13, None, "black", 1.0),  # "this one" above a bar
    # a minimum on a white chart (a 1-D curve), where the white plus of a map would vanish
    "minimum-1d": MarkerStyle("plus-thin", 12, MINIMUM_1D_COLOUR, MINIMUM_1D_COLOUR, 1.9),
    # a slice of a network
    "origin": MarkerStyle("ring", 15, "none", "black", 2.0),
    "best": MarkerStyle("star", 15, "white", "black", 1.0),
    "trajectory-start": MarkerStyle("circle", 10, TRAJECTORY_COLOUR, "white", 1.0),
    "trajectory-end": MarkerStyle("x-filled", 11, TRAJECTORY_COLOUR, "white", 1.0),
    "basin": MarkerStyle("square", 11, None, "black", 0.5),
    "node": MarkerStyle("tick", 10, NODE_COLOUR, NODE_COLOUR, 1.0),
    **{
        f"critical-{kind}": MarkerStyle(symbol, 9, "white", "black", 1.2)
        for kind, symbol in _CRITICAL_SYMBOLS.items()
    },
    **{
        f"anchor-{i}": MarkerStyle(symbol, 9, "black", "white", 1.0)
        for i, symbol in enumerate(_ANCHOR_SYMBOLS)
    },
    **{
        f"mark-{i}": MarkerStyle(symbol, 12, MARK_COLOURS[i], "black", 1.0)
        for i, symbol in enumerate(_MARK_SYMBOLS)
    },
}


def anchor_style(i: int) -> str:
    return f"anchor-{i % len(_ANCHOR_SYMBOLS)}"


def mark_style(i: int) -> str:
    return f"mark-{i % len(_MARK_SYMBOLS)}"


# -- lines --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineStyle:
    """width: points; colour None = the element's own; dash: 'solid', 'dash' or 'dot';
    step_markers: a dot per point, `step_marker_size(n, step_size)` points across."""

    width: float
    colour: str | None = None
    dash: str = "solid"
    alpha: float = 1.0
    step_markers: bool = False
    step_size: float = 3.5


LINES: dict[str, LineStyle] = {
    "path": LineStyle(1.5, step_markers=True, step_size=3.5),
    "path-1d": LineStyle(0.8, alpha=0.7, step_markers=True, step_size=6.0),
    "path-3d": LineStyle(2.5, step_markers=True, step_size=2.5),
    "trajectory": LineStyle(1.6, TRAJECTORY_COLOUR, step_markers=True, step_size=3.5),
    "loss": LineStyle(1.5),
    "curve": LineStyle(1.6, "black"),
    "quadratic": LineStyle(1.2, "grey", "dash"),
    "metric": LineStyle(1.8, LOSS_COLOUR),
    "secondary": LineStyle(1.4, ACCURACY_COLOUR, "dash"),
    "anchor-rule": LineStyle(0.8, "black", "dot"),
    "crosshair": LineStyle(1.2, "white", "dash"),
    "tangent": LineStyle(1.9, REPELLING_COLOUR),  # the slope f'(x) at a 1-D descent's point
    "spectrum": LineStyle(1.4, SPECTRUM_COLOUR),
    # metrics along a path between two models (a dot per evaluated point), and the straight
    # line between its two end values (the reference its barrier is measured from)
    "connect": LineStyle(1.8, step_markers=True, step_size=3.0),
    "chord": LineStyle(1.1, dash="dash", alpha=0.85),
    # a path drawn on the plane through two models and a Bezier control point
    "plane-curve": LineStyle(2.2, "white"),
    "plane-line": LineStyle(1.6, "white", "dash"),
    "width": LineStyle(1.6, step_markers=True, step_size=5.0),  # a figure against width
}


def step_marker_size(n_points: int, large: float) -> float:
    """A marker per step, thinner as the steps crowd: `large` up to 30 points, 55% of it up to
    300, 25% above."""
    if n_points <= 30:
        return large
    if n_points <= 300:
        return large * 0.55
    return large * 0.25


# -- arrows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrowStyle:
    """field: many small arrows (a quiver, one trace of segments in plotly) or a few big ones
    (annotations); head False for a plain segment (zero curvature)."""

    colour: str
    width: float
    field: bool = False
    head: bool = True
    dash: str = "solid"
    edge: str | None = None  # the dark line under a light field arrow


ARROWS: dict[str, ArrowStyle] = {
    "gradient": ArrowStyle("white", 1.0, field=True, edge="black"),
    "attracting": ArrowStyle(ATTRACTING_COLOUR, 2.5),
    "repelling": ArrowStyle(REPELLING_COLOUR, 2.5),
    "flat": ArrowStyle(FLAT_COLOUR, 2.0, head=False, dash="dash"),
}

# -- fields -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldStyle:
    """levels: colour bands (filled) or lines; line_every: a contour line on every k-th band
    edge; surface alpha for 3-D."""

    levels: int = N_LEVELS
    line_every: int = 2
    line_width: float = 0.4
    line_alpha: float = 0.35
    alpha: float = 1.0


FIELDS: dict[str, FieldStyle] = {
    "filled": FieldStyle(),
    "lines": FieldStyle(levels=20, line_every=1, line_width=0.5, line_alpha=0.3),
    "heatmap": FieldStyle(alpha=1.0),
    "surface": FieldStyle(alpha=0.92),
    "basins": FieldStyle(alpha=1.0),
}


# -- helpers ------------------------------------------------------------------------------------


def hex_to_rgb(colour: str) -> tuple[float, float, float]:
    """'#rrggbb' -> (r, g, b) in [0, 1]."""
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def rgb_hex(rgb: Sequence[float]) -> str:
    """(r, g, b) in [0, 1] -> '#rrggbb'."""
    return "#" + "".join(f"{round(255 * float(c)):02x}" for c in rgb)


def ramp(colour: str, n: int) -> tuple[str, ...]:
    """n colours from a pale tint of `colour` (first step) to `colour` (last step)."""
    rgb = np.array(hex_to_rgb(colour))
    fade = np.linspace(0.65, 0.0, n)[:, None] if n > 1 else np.zeros((1, 1))
    return tuple(rgb_hex(c) for c in rgb * (1 - fade) + fade)  # mix with white


def discrete_colourscale(colours: Sequence[str]) -> list[list]:
    """Colour i over the i-th equal slice of [0, 1]: a label map, not a gradient (plotly)."""
    n = len(colours)
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def optimizer_colour(optimizer: str, used: set[str]) -> str:
    """The optimizer's colour, or the first extra colour not yet used."""
    colour = OPTIMIZER_COLOURS.get(optimizer)
    if colour is None or colour in used:
        colour = next(
            (c for c in EXTRA_COLOURS if c not in used),
            EXTRA_COLOURS[len(used) % len(EXTRA_COLOURS)],
        )
    return colour


def basin_colour(label: int) -> str:
    """The colour of basin `label`: -2 diverged (black), -1 no known minimum (grey), else the
    minimum's pastel."""
    if label == -2:
        return DIVERGED_BASIN_COLOUR
    if label == -1:
        return NO_MINIMUM_COLOUR
    return BASIN_COLOURS[label % len(BASIN_COLOURS)]
