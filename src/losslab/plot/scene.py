"""The picture model: what a losslab picture holds, as plain frozen data (numpy arrays, named
styles), with no matplotlib or plotly in sight.

    Scene(panels=(Panel(kind="plane", items=(Field(...), Path(...), Markers(...)), ...),), ...)

A scene is built once from results (a Landscape, Trajectories, a BasinMap, CriticalPoints, a
Spectrum) by the builders in `losslab.plot.build`, and drawn by either backend
(`losslab.plot.backend_mpl.draw`, `losslab.plot.backend_plotly.draw`). Every number a picture
shows is decided here (values, colour range, heights on a 3-D surface); every look is a name in
`losslab.plot.style`. The backends only translate.

Coordinates are data coordinates of the panel. Grids are 'ij': `Field.values[i, j]` is the
value at (x[i], y[j]), as in a `Landscape`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from losslab import dust
from losslab.errors import LosslabError
from losslab.plot import style

# -- the one colour transform -------------------------------------------------------------------


@dataclass(frozen=True)
class ColourScale:
    """How values become colours (and heights on a 3-D surface): linear, or
    log10(value - shift + eps). `lo`, `hi` is the colour range; `label` says which transform.

    Plain and JSON-able (`to_dict` / `from_dict`): the web lab keeps it in the browser so that a
    patched path is lifted exactly as the figure it lands on."""

    log: bool
    shift: float
    eps: float
    lo: float
    hi: float
    label: str
    colourmap: str = "viridis"

    @classmethod
    def of(cls, values, log: bool, name: str = "f") -> ColourScale:
        """The rule for a grid of values (any shape): log10(f) when every finite value is > 0,
        else log10(f - min + 1e-12); the log range starts at the 0.2% quantile so one grid point
        on a minimum does not squash every other colour. Non-finite values are ignored."""
        raw = np.asarray(values, dtype=np.float64)
        finite = raw[np.isfinite(raw)]
        if not finite.size:
            raise LosslabError(
                "the objective is not finite anywhere in the window: choose other bounds."
            )
        note = " (blank: not finite)" if finite.size < raw.size else ""
        fmin = float(finite.min())
        if not log:
            lo, hi = spread(fmin, float(finite.max()))
            return cls(False, 0.0, 0.0, lo, hi, f"{name}{note}")
        if fmin > 0:
            shift, eps, label = 0.0, 0.0, f"log10({name})"
        else:
            shift, eps = fmin, style.LOG_EPS
            label = f"log10({name} - min + 1e-12), min = {number(fmin)}"
        z = np.log10(finite - shift + eps)
        lo, hi = spread(float(np.quantile(z, style.LOG_LOW_QUANTILE)), float(z.max()))
        return cls(True, shift, eps, lo, hi, label + note)

    @classmethod
    def of_surface(cls, values, log: bool, name: str = "f") -> ColourScale:
        """The scale of a 3-D surface: as `of`, but a log height is log10(f - shift + c) with
        c the style.SURFACE_FLOOR_QUANTILE of f - shift (named in the label). A valley narrower
        than a grid cell (Rosenbrock's) then has a smooth floor instead of a saw-tooth of the
        depths that the grid happens to sample across it."""
        scale = cls.of(values, log, name)
        if not scale.log:
            return scale
        raw = np.asarray(values, dtype=np.float64)
        finite = raw[np.isfinite(raw)] - scale.shift
        c = float(np.quantile(finite, style.SURFACE_FLOOR_QUANTILE))
        if not c > scale.eps:
            return scale
        lo, hi = spread(float(np.log10(finite.min() + c)), float(np.log10(finite.max() + c)))
        note = " (blank: not finite)" if finite.size < raw.size else ""
        if scale.shift == 0.0:
            label = f"log10({name} + {number(c)})"
        else:
            label = f"log10({name} - min + {number(c)}), min = {number(scale.shift)}"
        return cls(True, scale.shift, c, lo, hi, label + note)

    def transform(self, values, *, clamp: bool = True) -> np.ndarray:
        """What is coloured: the values, or their log (NaN stays NaN). clamp: a value below the
        grid's minimum (a run can end lower) is clamped there rather than given log(< 0); the
        grid itself (clamp=False) keeps its own logs, below the colour range or not."""
        values = np.asarray(values, dtype=np.float64)
        if not self.log:
            return values
        with np.errstate(invalid="ignore", divide="ignore"):
            floor = (10.0**self.lo if self.eps == 0.0 else 0.0) if clamp else -np.inf
            return np.log10(np.maximum(values - self.shift, floor) + self.eps)

    def height(self, values, lift: float = style.SURFACE_LIFT) -> np.ndarray:
        """z of points drawn on a 3-D surface, `lift` of the colour range above it so they are
        not hidden: the value itself on a linear scale (a run below the grid's lowest point
        stays there, and the z range grows to show it), the log clipped to the colour range
        (as the surface is) on a log scale."""
        z = self.transform(values)
        if self.log:
            z = np.clip(z, self.lo, self.hi)
        return z + lift * (self.hi - self.lo)

    def levels(self, n: int = style.N_LEVELS) -> np.ndarray:
        return np.linspace(self.lo, self.hi, n + 1)

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
    def from_dict(cls, data) -> ColourScale:
        """The inverse of to_dict, checked: a damaged dict raises one LosslabError."""
        try:
            numbers = [float(data[k]) for k in ("shift", "eps", "lo", "hi")]
            log, label = bool(data["log"]), str(data["label"])[:200]
        except (TypeError, KeyError, ValueError):
            raise LosslabError("the colour scale is damaged: reload the page.") from None
        if not all(math.isfinite(v) for v in numbers) or not numbers[2] < numbers[3]:
            raise LosslabError("the colour scale is damaged: reload the page.")
        return cls(log, *numbers, label)


def spread(lo: float, hi: float) -> tuple[float, float]:
    """A non-empty range (a constant surface still gets a colour bar)."""
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return lo - 0.5, lo + 0.5
    return lo, hi


@dataclass(frozen=True)
class Categories:
    """The discrete-colour rule of a label map (basins): integer label `labels[i]` is drawn in
    `colours[i]`; labels are consecutive integers, each one bin [label - 0.5, label + 0.5]."""

    labels: tuple[int, ...]
    colours: tuple[str, ...]

    @property
    def bounds(self) -> np.ndarray:
        """(n + 1,) bin edges."""
        return np.arange(self.labels[0] - 0.5, self.labels[-1] + 1.0)


# -- elements -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A height field on a grid: x (nx,), y (ny,), values (nx, ny) 'ij' (NaN: not finite, drawn
    as a gap). draw: 'filled' contour (bands + lines), 'lines' (contour lines only), 'heatmap'
    (cells), 'surface' (3-D). Either `scale` (continuous colour) or `categories` (labels)."""

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    draw: Literal["filled", "lines", "heatmap", "surface"] = "filled"
    scale: ColourScale | None = None
    categories: Categories | None = None
    colourbar: bool = True
    name: str = "landscape"
    value_name: str = "loss"
    opacity: float = 1.0

    @property
    def z(self) -> np.ndarray:
        """(nx, ny) what is coloured: the scale's transform, or the labels."""
        if self.scale is None:
            return self.values
        return self.scale.transform(self.values, clamp=False)

    @property
    def box(self) -> np.ndarray:
        return np.array([[self.x[0], self.x[-1]], [self.y[0], self.y[-1]]], dtype=np.float64)

    def at(self, points) -> np.ndarray:
        """(T,) the values at points (T, 2), by the one interpolation rule (style.py)."""
        return interpolate((self.x, self.y), self.values, points)

    def heights(self, points, values) -> np.ndarray:
        """(T,) z of points (T, 2) with `values` (T,) drawn on this 3-D surface, never inside it:
        the value's own height (`scale.height`, lifted) or, where the drawn mesh is higher
        there, the same lift above the mesh (`mesh_top`). A narrow valley between grid points
        (Rosenbrock's) is spanned by the mesh above its floor: a path along the floor at its
        true height would be hidden. NaN values stay NaN (a break in the path)."""
        scale = self.scale
        top = mesh_top((self.x, self.y), np.clip(self.z, scale.lo, scale.hi), points)
        own = scale.height(values)
        lifted = np.fmax(own, top + style.SURFACE_LIFT * (scale.hi - scale.lo))
        return np.where(np.isnan(own), own, lifted)


@dataclass(frozen=True)
class Points:
    """What Path and Markers share: x, y (k,) [z (k,) on a 3-D panel], a style name (colour
    None = the style's), a legend label, a group that toggles together, the name the picture
    calls them, and steps, values (k,) (step numbers and losses) for hover."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray | None = None
    style: str = ""
    colour: str | None = None
    label: str = ""
    show_legend: bool = True
    group: str = ""
    name: str = ""
    steps: np.ndarray | None = None
    values: np.ndarray | None = None


@dataclass(frozen=True)
class Path(Points):
    """A line through the points; style a LINES name. marker_colours: one colour per step
    marker (a ramp that shows the order), else the line's colour. axis: 'y2' draws against the
    panel's secondary y axis. status: how a run ended ('max_steps', 'converged', 'diverged'),
    '' for a plain line. errors: (k,) half-lengths of a vertical whisker through each point
    (e.g. +-1 sd between seeds), None for none."""

    style: str = "path"  # a redeclared field keeps its place in Points' order
    name: str = "path"
    marker_colours: tuple[str, ...] | None = None
    status: str = ""
    axis: Literal["y", "y2"] = "y"
    errors: np.ndarray | None = None


@dataclass(frozen=True)
class Markers(Points):
    """Points drawn with one marker style; name is what the picture calls them ('start',
    'end', 'minimum', 'critical-saddle', ...)."""

    style: str = "point"
    name: str = "markers"
    axes_fraction_y: bool = False  # y in axes fraction (ticks along the bottom)


@dataclass(frozen=True)
class Arrows:
    """Arrows from tails (m, 2) to tips (m, 2) with an ARROWS style: 'gradient' (a field of
    small arrows), 'attracting', 'repelling', 'flat' (a few big ones)."""

    tails: np.ndarray
    tips: np.ndarray
    style: str
    label: str = ""
    show_legend: bool = False
    name: str = "arrows"


@dataclass(frozen=True)
class Text:
    """A text box at (x, y) in axes fractions (0, 0 bottom left), anchored top left. style:
    'box' (framed in `colour`), 'mono' (monospace, framed) or 'plain'."""

    text: str
    x: float = 0.02
    y: float = 0.98
    colour: str = "black"
    style: Literal["box", "mono", "plain"] = "box"


@dataclass(frozen=True)
class Rule:
    """A vertical line across the panel at x (an interpolation's end point)."""

    x: float
    style: str = "anchor-rule"


@dataclass(frozen=True)
class LegendEntry:
    """A legend line that is not an element of the plot: what a marker, line, arrow or basin
    colour means. kind: 'marker' (MARKERS style), 'line' (LINES style), 'arrow' (ARROWS style),
    'patch' (a filled square in `colour`)."""

    label: str
    kind: Literal["marker", "line", "arrow", "patch"]
    style: str = ""
    colour: str | None = None
    name: str = "legend"


@dataclass(frozen=True)
class Bars:
    """One bar per named category, in order: labels (m,), heights (m,); colours (m,) one per
    bar (None: the style's); texts (m,) what a hover says about each bar (plotly only);
    errors (m,) half-lengths of a whisker drawn through each bar's top (None: none)."""

    labels: tuple[str, ...]
    heights: np.ndarray
    colours: tuple[str, ...] | None = None
    texts: tuple[str, ...] | None = None
    name: str = "bars"
    errors: np.ndarray | None = None


Element = Field | Path | Markers | Arrows | Text | Rule | LegendEntry | Bars


@dataclass(frozen=True)
class Axis:
    """label, range (None: fit the data), scale 'linear' | 'log' | 'symlog' (linthresh: the
    linear band of a symlog axis; plotly draws symlog as linear), colour of label and ticks."""

    label: str = ""
    range: tuple[float, float] | None = None
    scale: Literal["linear", "log", "symlog"] = "linear"
    linthresh: float = 1.0
    colour: str | None = None


@dataclass(frozen=True)
class Camera:
    """Where a 3-D panel is seen from, in degrees: elevation above the (x, y) plane and
    azimuth around the z axis (matplotlib's `view_init`; plotly's eye is the same direction
    at distance `CAMERA_DISTANCE` / zoom). The default is matplotlib's own view."""

    elevation: float = 30.0
    azimuth: float = -60.0
    zoom: float = 1.0  # > 1: the 3-D box drawn larger in its panel (the eye that much closer)

    def eye(self, distance: float = style.CAMERA_DISTANCE) -> dict[str, float]:
        """The plotly camera eye {x, y, z} of this direction (aspect-ratio units)."""
        e, a = math.radians(self.elevation), math.radians(self.azimuth)
        distance = distance / self.zoom
        return {
            "x": distance * math.cos(e) * math.cos(a),
            "y": distance * math.cos(e) * math.sin(a),
            "z": distance * math.sin(e),
        }


@dataclass(frozen=True)
class Panel:
    """One set of axes. kind: 'plane' (2-D data axes: contours, paths), 'surface' (3-D),
    'chart' (x-y curves: 1-D landscapes, losses, spectra). items are drawn in order.
    equal: one unit as long on both axes. legend: 'below', 'inside', 'figure' (under all
    the panels, as wide as the figure: a legend wider than its own panel) or 'none'. camera:
    the view of a 'surface' panel (None: the default `Camera()`)."""

    kind: Literal["plane", "surface", "chart"]
    items: tuple[Element, ...]
    title: str = ""
    x: Axis = field(default_factory=Axis)
    y: Axis = field(default_factory=Axis)
    z: Axis | None = None
    y2: Axis | None = None
    equal: bool = False
    legend: Literal["below", "inside", "figure", "none"] = "below"
    legend_title: str = ""
    grid: bool = False
    camera: Camera | None = None

    def find(self, kind: type, name: str | None = None) -> list:
        """The items of a type (and name), in drawing order: what tests and callers look up."""
        return [
            item
            for item in self.items
            if isinstance(item, kind) and (name is None or getattr(item, "name", None) == name)
        ]


@dataclass(frozen=True)
class Scene:
    """Panels side by side (relative `widths`), a title over them, a size in inches (the
    plotly backend draws size * 100 pixels). columns: panels per row, filled row by row
    (small multiples: one small panel per figure); None keeps every panel in one row."""

    panels: tuple[Panel, ...]
    title: str = ""
    size: tuple[float, float] = (6.4, 5.6)
    widths: tuple[float, ...] | None = None
    columns: int | None = None

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, columns) of the panels' layout."""
        n = len(self.panels)
        columns = n if self.columns is None else max(1, min(self.columns, n))
        return math.ceil(n / max(columns, 1)), columns

    def place(self, index: int) -> tuple[int, int]:
        """(row, column), both from 0, of panel `index`."""
        return divmod(index, self.grid[1])

    @property
    def panel(self) -> Panel:
        """The only panel of a one-panel scene."""
        if len(self.panels) != 1:
            raise LosslabError(f"this scene has {len(self.panels)} panels, not one.")
        return self.panels[0]


# -- the one interpolation rule -----------------------------------------------------------------


def interpolate(coords, values, points) -> np.ndarray:
    """Values at points (T, k) of a grid (coords: k increasing arrays; values 'ij', k = 1 or
    2): (bi)linear inside the window, `style.OUTSIDE_WINDOW` (NaN) outside it or at a
    non-finite point."""
    coords = tuple(np.asarray(c, dtype=np.float64) for c in coords)
    values = np.asarray(values, dtype=np.float64)
    k = len(coords)
    points = np.asarray(points, dtype=np.float64).reshape(-1, k)
    out = np.full(len(points), style.OUTSIDE_WINDOW)
    lo = np.array([min(c[0], c[-1]) for c in coords])
    hi = np.array([max(c[0], c[-1]) for c in coords])
    finite = np.isfinite(points).all(axis=-1)
    ok = finite & ((points >= lo - 1e-12) & (points <= hi + 1e-12)).all(axis=-1)
    if not ok.any():
        return out
    brackets = [_bracket(c, points[ok, d]) for d, c in enumerate(coords)]
    if k == 1:
        ((i, t),) = brackets
        i1 = np.minimum(i + 1, len(values) - 1)
        out[ok] = (1 - t) * values[i] + t * values[i1]
        return out
    (i, s), (j, t) = brackets
    i1 = np.minimum(i + 1, values.shape[0] - 1)
    j1 = np.minimum(j + 1, values.shape[1] - 1)
    out[ok] = (
        (1 - s) * (1 - t) * values[i, j]
        + s * (1 - t) * values[i1, j]
        + (1 - s) * t * values[i, j1]
        + s * t * values[i1, j1]
    )
    return out


def mesh_top(coords, heights, points) -> np.ndarray:
    """(T,) the height of a triangulated surface over the grid heights (nx, ny) 'ij' at points
    (T, 2), the higher of its two triangulations (a cell split along either diagonal: a
    renderer picks one). NaN outside the grid (or where a corner is NaN)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.full(len(points), np.nan)
    x, y = (np.asarray(c, dtype=np.float64) for c in coords)
    lo = np.array([min(x[0], x[-1]), min(y[0], y[-1])])
    hi = np.array([max(x[0], x[-1]), max(y[0], y[-1])])
    ok = np.isfinite(points).all(axis=-1) & ((points >= lo) & (points <= hi)).all(axis=-1)
    if not ok.any():
        return out
    (i, s), (j, t) = (_bracket(c, points[ok, d]) for d, c in enumerate((x, y)))
    i1 = np.minimum(i + 1, heights.shape[0] - 1)
    j1 = np.minimum(j + 1, heights.shape[1] - 1)
    a, b, c, d = heights[i, j], heights[i1, j], heights[i, j1], heights[i1, j1]
    # diagonal (i, j)-(i1, j1): triangle below it (s >= t) or above it
    main = np.where(s >= t, a + s * (b - a) + t * (d - b), a + t * (c - a) + s * (d - c))
    # diagonal (i1, j)-(i, j1): triangle at (i, j) (s + t <= 1) or at (i1, j1)
    anti = np.where(
        s + t <= 1, a + s * (b - a) + t * (c - a), d + (1 - s) * (c - d) + (1 - t) * (b - d)
    )
    out[ok] = np.maximum(main, anti)
    return out


def _bracket(coords: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell index i and fraction t in [0, 1] with x = (1 - t) c[i] + t c[i + 1] (ascending or
    descending coordinates)."""
    ascending = coords[-1] >= coords[0]
    c = coords if ascending else coords[::-1]
    n = len(c)
    if n == 1:
        return np.zeros(len(x), dtype=int), np.zeros(len(x))
    i = np.clip(np.searchsorted(c, x, side="right") - 1, 0, n - 2)
    t = np.clip((x - c[i]) / (c[i + 1] - c[i]), 0.0, 1.0)
    if not ascending:
        i, t = n - 2 - i, 1 - t
    return i, t


# -- text ---------------------------------------------------------------------------------------


def number(value: float, digits: int = 4) -> str:
    """A short number for labels: 4 significant digits, no '-0', float dust (|v| <= 1e-12,
    `losslab.dust.ATOL`) as 0."""
    return f"{dust.scalar(value):.{digits}g}"


def point_text(values, digits: int = 4) -> str:
    """'(x, y)': coordinates below 1e-9 of the point's scale print as 0 (`losslab.dust`)."""
    return "(" + ", ".join(f"{v:.{digits}g}" for v in dust.point(values)) + ")"
