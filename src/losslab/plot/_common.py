"""What the matplotlib and plotly renderers share: colours, runs as plain arrays, the colour
transform (linear or log) of a grid, the gradient field, the basin palette, the Hessian arrows.

Everything here is backend-free (numpy and torch only), so both renderers draw the same
numbers with the same colours and the tests can check the numbers without drawing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from losslab.attraction import DIVERGED, NO_MINIMUM, BasinMap
from losslab.curvature import CriticalPoint
from losslab.descent import Trajectory
from losslab.errors import LosslabError
from losslab.grid import evaluate_grid, window
from losslab.objectives.base import Objective

# -- colours ------------------------------------------------------------------------------------

CMAP = "viridis"  # matplotlib name of the landscape colour map
COLOURSCALE = "Viridis"  # the same map in plotly
TEMPLATE = "plotly_white"

# One colour per optimizer, the same in every figure and both backends (tab10 without red,
# which is reserved for divergence).
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
MINIMUM_LABEL = "known minimum"
GRADIENT_LABEL = "gradient (points uphill)"

# Critical points by kind: (matplotlib marker, plotly symbol, legend text).
CRITICAL_MARKERS = {
    "minimum": ("v", "triangle-down", "critical point: minimum"),
    "maximum": ("^", "triangle-up", "critical point: maximum"),
    "saddle": ("D", "diamond", "critical point: saddle"),
    "degenerate": ("h", "hexagon", "critical point: degenerate"),
    "regular": ("p", "pentagon", "regular point (gradient not zero)"),
}

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

LOG_EPS = 1e-12
N_LEVELS = 30
GRADIENT_GRID = 20


def hex_to_rgb(colour: str) -> tuple[float, float, float]:
    """'#rrggbb' -> (r, g, b) in [0, 1]."""
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def ramp(colour: str, n: int) -> np.ndarray:
    """n colours (n, 3) from a pale tint of `colour` (first step) to `colour` (last step)."""
    rgb = np.array(hex_to_rgb(colour))
    fade = np.linspace(0.65, 0.0, n)[:, None] if n > 1 else np.zeros((1, 1))
    return rgb * (1 - fade) + fade  # mix with white


def rgb_string(rgb: Sequence[float]) -> str:
    """(r, g, b) in [0, 1] -> 'rgb(R, G, B)' for plotly."""
    return "rgb({}, {}, {})".format(*(round(255 * float(c)) for c in rgb))


def number(value: float, digits: int = 4) -> str:
    """A short number for labels: 4 significant digits, no '-0'."""
    return f"{float(value) + 0.0:.{digits}g}"


def point_text(values: Iterable[float], digits: int = 4) -> str:
    return "(" + ", ".join(number(v, digits) for v in values) + ")"


# -- runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run of a trajectory, as plain arrays ready to draw.

    path:   (k, n_params) the points actually visited, k = stopped_at + 1
    losses: (k,) the loss at each visited point
    label:  the optimizer's label, e.g. "momentum(lr=0.001, beta=0.9)"
    legend: the label plus how the run ended, e.g. "gd(lr=0.5): diverged at step 7"
    group:  index of the Trajectory it came from (a batched trajectory gives several runs)
    show_legend: False for a repeat of a legend entry already shown (batched starts)
    """

    path: np.ndarray
    losses: np.ndarray
    label: str
    legend: str
    colour: str
    status: str
    stopped_at: int
    optimizer: str
    group: int
    show_legend: bool

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def start(self) -> np.ndarray:
        return self.path[0]

    @property
    def end(self) -> np.ndarray:
        return self.path[-1]

    @property
    def steps(self) -> np.ndarray:
        """(k,) step numbers 0..stopped_at."""
        return np.arange(len(self.path))


def status_text(status: str, stopped_at: int) -> str:
    """How a run ended, in words. A diverged run's step stopped_at + 1 is the one that blew up
    (its row stopped_at is the last good point)."""
    if status == "diverged":
        return f"diverged at step {stopped_at + 1}"
    if status == "converged":
        return f"converged in {stopped_at} steps"
    return f"{stopped_at} steps"


def as_trajectories(trajectories) -> list[Trajectory]:
    """A Trajectory, or any iterable of them, -> a list (empty for None or ())."""
    if trajectories is None:
        return []
    if isinstance(trajectories, Trajectory):
        return [trajectories]
    items = list(trajectories)
    for item in items:
        if not isinstance(item, Trajectory):
            raise LosslabError(
                f"trajectories contains a {type(item).__name__}: give Trajectory objects "
                f"(from losslab.descend or losslab.race), or a list of them."
            )
    return items


def runs(trajectories, n_params: int | None = None) -> list[Run]:
    """Flatten trajectories (batched or not, one or a list) into runs with colours and labels.

    Each Trajectory gets its optimizer's colour; a second Trajectory of the same optimizer with
    a different label gets a colour of its own. All starts of a batched Trajectory share its
    colour, and a legend entry is shown once per distinct text.
    """
    colours: dict[str, str] = {}  # label -> colour
    used: set[str] = set()
    seen_legends: set[str] = set()
    flat: list[Run] = []
    for group, trajectory in enumerate(as_trajectories(trajectories)):
        n = trajectory.params.shape[-1]
        if n_params is not None and n != n_params:
            raise LosslabError(
                f"trajectory {trajectory.label} has {n} parameter(s) but the objective has "
                f"{n_params}: draw it on a matching objective."
            )
        label = trajectory.label
        if label not in colours:
            colour = OPTIMIZER_COLOURS.get(trajectory.optimizer)
            if colour is None or colour in used:
                colour = next(
                    (c for c in EXTRA_COLOURS if c not in used),
                    EXTRA_COLOURS[len(used) % len(EXTRA_COLOURS)],
                )
            colours[label] = colour
            used.add(colour)
        for run in trajectory.runs():
            stop = int(run.stopped_at)
            path = run.params[: stop + 1].detach().cpu().double().numpy()
            losses = run.losses[: stop + 1].detach().cpu().double().numpy()
            ending = status_text(run.status, stop)
            legend = label if run.status == "max_steps" else f"{label}: {ending}"
            show = legend not in seen_legends
            seen_legends.add(legend)
            flat.append(
                Run(
                    path,
                    losses,
                    label,
                    legend,
                    colours[label],
                    run.status,
                    stop,
                    trajectory.optimizer,
                    group,
                    show,
                )
            )
    return flat


def marker_size(n_points: int, large: float = 4.0) -> float:
    """A marker per step, thinner as the steps crowd: 4 pt for <= 30 points, 1 pt above 300."""
    if n_points <= 30:
        return large
    if n_points <= 300:
        return large * 0.55
    return large * 0.25


# -- objectives and grids -----------------------------------------------------------------------


def check_dims(objective: Objective, n_params: int, what: str) -> None:
    """Raise a LosslabError naming the right function when the dimension does not fit."""
    n = getattr(objective, "n_params", None)
    if n == n_params:
        return
    name = getattr(objective, "name", "objective")
    hint = (
        "use curve_1d (or landscape, which picks it)"
        if n == 1
        else "use contour (or landscape, which picks it)"
        if n == 2
        else "draw a 1-D or 2-D slice of it"
    )
    raise LosslabError(
        f"{what} needs a {n_params}-D objective; '{name}' has {n} parameter(s): {hint}."
    )


def use_log(objective, log: bool | None) -> bool:
    """log=None follows the objective's own `log_scale` flag (values spanning decades)."""
    if log is None:
        return bool(getattr(objective, "log_scale", False))
    return bool(log)


@dataclass(frozen=True)
class Colouring:
    """How grid values become colours.

    raw:  values with every non-finite entry set to NaN (NaN is drawn as a gap, never a colour)
    z:    what is coloured: raw, or its log10 transform (NaN where raw is NaN)
    lo, hi: the colour range; for log colour lo is the 0.2% quantile, so that one grid point
        sitting exactly on a minimum (log10(1e-12) = -12) does not squash every other colour
    shift, eps: z = log10(f - shift + eps); both 0 when every value is > 0
    """

    raw: np.ndarray
    z: np.ndarray
    lo: float
    hi: float
    log: bool
    shift: float
    eps: float
    label: str

    @property
    def clipped_below(self) -> bool:
        return bool(np.nanmin(self.z) < self.lo)

    @property
    def masked(self) -> bool:
        return bool(np.isnan(self.raw).any())

    def transform(self, values) -> np.ndarray:
        """The same transform for other loss values (a trajectory lifted onto the surface)."""
        values = np.asarray(values, dtype=np.float64)
        if not self.log:
            return values
        with np.errstate(invalid="ignore", divide="ignore"):
            # A run can end below the grid's minimum: clamp there rather than take log(< 0).
            floor = 10.0**self.lo if self.eps == 0.0 else 0.0
            return np.log10(np.maximum(values - self.shift, floor) + self.eps)

    def levels(self, n: int = N_LEVELS) -> np.ndarray:
        return np.linspace(self.lo, self.hi, n + 1)


def colouring(values, log: bool) -> Colouring:
    """Values (any shape) -> a Colouring; log10(f) when every value is > 0, else
    log10(f - min + 1e-12), and the label says which."""
    raw = np.asarray(values, dtype=np.float64).copy()
    finite = np.isfinite(raw)
    if not finite.any():
        raise LosslabError(
            "the objective is not finite anywhere in the window: choose other bounds."
        )
    raw[~finite] = np.nan
    fmin = float(raw[finite].min())
    note = " (blank: not finite)" if not finite.all() else ""
    if not log:
        lo, hi = _spread(fmin, float(raw[finite].max()))
        return Colouring(raw, raw, lo, hi, False, 0.0, 0.0, f"f{note}")
    if fmin > 0:
        shift, eps, label = 0.0, 0.0, "log10(f)"
    else:
        shift, eps, label = fmin, LOG_EPS, f"log10(f - min + 1e-12), min = {number(fmin)}"
    z = np.log10(raw - shift + eps)
    zf = z[finite]
    lo, hi = _spread(float(np.quantile(zf, 0.002)), float(zf.max()))
    return Colouring(raw, z, lo, hi, True, shift, eps, label + note)


def _spread(lo: float, hi: float) -> tuple[float, float]:
    """A non-empty range (a constant surface still gets a colour bar)."""
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return lo - 0.5, lo + 0.5
    return lo, hi


@dataclass(frozen=True)
class Landscape2D:
    """A 2-D grid ready for contour plots: x (n0,), y (n1,), and values transposed to 'xy'
    order (n1, n0) so that values[j, i] = f(x[i], y[j]), what contourf(X, Y, Z) expects."""

    x: np.ndarray
    y: np.ndarray
    colouring: Colouring
    box: np.ndarray  # (2, 2) [[x_lo, x_hi], [y_lo, y_hi]]


def landscape_2d(
    objective: Objective, bounds, resolution: int, log: bool | None, what: str = "contour"
) -> Landscape2D:
    check_dims(objective, 2, what)
    grid = evaluate_grid(objective, resolution=resolution, bounds=bounds)
    x, y = (c.numpy() for c in grid.coords)
    values = grid.values.detach().cpu().double().numpy().T  # 'ij' -> 'xy'
    box = window(objective, bounds).numpy()
    return Landscape2D(x, y, colouring(values, use_log(objective, log)), box)


@dataclass(frozen=True)
class Curve1D:
    """A 1-D objective on a grid: x (n,), f (n,) with non-finite values as NaN."""

    x: np.ndarray
    f: np.ndarray
    box: np.ndarray  # (1, 2)

    def ylim(self, pad: float = 0.08, top: float | None = None) -> tuple[float, float]:
        """Limits around the finite values: `pad` of the range below, `top` (default pad)
        above."""
        top = pad if top is None else top
        finite = self.f[np.isfinite(self.f)]
        if not len(finite):
            raise LosslabError(
                "the objective is not finite anywhere in the window: choose other bounds."
            )
        lo, hi = _spread(float(finite.min()), float(finite.max()))
        return lo - pad * (hi - lo), hi + top * (hi - lo)


def curve_1d_grid(objective: Objective, bounds, resolution: int) -> Curve1D:
    check_dims(objective, 1, "curve_1d")
    grid = evaluate_grid(objective, resolution=resolution, bounds=bounds)
    f = grid.values.detach().cpu().double().numpy().copy()
    f[~np.isfinite(f)] = np.nan
    return Curve1D(grid.coords[0].numpy(), f, window(objective, bounds).numpy())


def derivative_at(objective: Objective, points) -> tuple[np.ndarray, np.ndarray]:
    """Values (B,) and gradients (B, n) at points (B, n), in one batched call."""
    params = torch.as_tensor(np.asarray(points, dtype=np.float64))
    values, grads = objective.value_and_grad(params)
    return values.detach().numpy(), grads.detach().numpy()


@dataclass(frozen=True)
class GradientField:
    """Unit gradient directions on a coarse grid, in 'xy' order (n, n): U[j, i] is at
    (x[i], y[j]). The gradient is perpendicular to the contour lines and points uphill; a
    point with zero or non-finite gradient has U = V = 0 (no arrow).

    length: a good arrow length in data units (70% of the smaller grid spacing)."""

    X: np.ndarray
    Y: np.ndarray
    U: np.ndarray
    V: np.ndarray
    length: float


def gradient_field(objective: Objective, box: np.ndarray, n: int = GRADIENT_GRID) -> GradientField:
    # Cell centres, so no arrow sits on the frame.
    (x0, x1), (y0, y1) = box
    x = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    y = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    X, Y = np.meshgrid(x, y)  # (n, n) 'xy'
    _, grads = derivative_at(objective, np.stack([X.ravel(), Y.ravel()], axis=-1))
    norms = np.linalg.norm(grads, axis=-1, keepdims=True)
    ok = np.isfinite(grads).all(-1, keepdims=True) & (norms > 0)
    unit = np.where(ok, grads / np.where(ok, norms, 1.0), 0.0)
    length = 0.7 * min((x1 - x0) / n, (y1 - y0) / n)
    return GradientField(X, Y, unit[:, 0].reshape(X.shape), unit[:, 1].reshape(X.shape), length)


def arrow_segments(field: GradientField) -> tuple[list, list]:
    """Arrows as line segments for plotly: shaft + two head barbs per arrow, None-separated.

    Each arrow is centred on its grid point, `field.length` long, along (U, V)."""
    xs: list = []
    ys: list = []
    half = 0.5 * field.length
    head = 0.35 * field.length
    cos, sin = math.cos(math.radians(25)), math.sin(math.radians(25))
    for x, y, u, v in zip(
        field.X.ravel(), field.Y.ravel(), field.U.ravel(), field.V.ravel(), strict=True
    ):
        if u == 0 and v == 0:
            continue
        tail = (x - half * u, y - half * v)
        tip = (x + half * u, y + half * v)
        # The two barbs: the reversed direction rotated by +-25 degrees.
        left = (tip[0] - head * (u * cos - v * sin), tip[1] - head * (u * sin + v * cos))
        right = (tip[0] - head * (u * cos + v * sin), tip[1] - head * (-u * sin + v * cos))
        xs += [tail[0], tip[0], None, left[0], tip[0], right[0], None]
        ys += [tail[1], tip[1], None, left[1], tip[1], right[1], None]
    return xs, ys


def minima_array(objective) -> np.ndarray:
    """Known minima (k, n) as numpy; empty when none are known."""
    minima = getattr(objective, "minima", None)
    if minima is None or len(minima) == 0:
        return np.empty((0, getattr(objective, "n_params", 2)))
    return torch.as_tensor(minima).detach().cpu().double().numpy()


def as_critical_points(points) -> list[CriticalPoint]:
    if points is None:
        return []
    if isinstance(points, CriticalPoint):
        return [points]
    items = list(points)
    for item in items:
        if not isinstance(item, CriticalPoint):
            raise LosslabError(
                f"critical_points contains a {type(item).__name__}: give CriticalPoint objects "
                f"(from losslab.inspect or losslab.critical_points)."
            )
    return items


def critical_groups(points) -> list[tuple[str, np.ndarray]]:
    """Critical points grouped by kind, in the order of KINDS: [(kind, (m, n) array)]."""
    points = as_critical_points(points)
    groups = []
    for kind in CRITICAL_MARKERS:
        chosen = [p.point.detach().cpu().double().numpy() for p in points if p.kind == kind]
        if chosen:
            groups.append((kind, np.stack(chosen)))
    return groups


# -- basins -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BasinEntry:
    label: int  # index into minima, or NO_MINIMUM / DIVERGED
    colour: str
    text: str  # legend text with the share of starts


def basin_entries(basin_map: BasinMap) -> list[BasinEntry]:
    """One entry per known minimum (even at 0%), then 'no known minimum' and 'diverged' when
    some start ended so. Colour index = label + 2 in `basin_colours`."""
    fractions = basin_map.fractions()
    entries = []
    for index, minimum in enumerate(basin_map.minima.tolist()):
        share = 100 * fractions.get(index, 0.0)
        entries.append(
            BasinEntry(
                index, basin_colour(index), f"minimum {point_text(minimum, 3)}: {share:.1f}%"
            )
        )
    for label, what in ((NO_MINIMUM, "no known minimum"), (DIVERGED, "diverged")):
        if label in fractions:
            entries.append(
                BasinEntry(label, basin_colour(label), f"{what}: {100 * fractions[label]:.1f}%")
            )
    return entries


def basin_colour(label: int) -> str:
    if label == DIVERGED:
        return DIVERGED_BASIN_COLOUR
    if label == NO_MINIMUM:
        return NO_MINIMUM_COLOUR
    return BASIN_COLOURS[label % len(BASIN_COLOURS)]


def basin_colours(n_minima: int) -> list[str]:
    """Colours for labels -2, -1, 0, ..., n_minima - 1, in that order."""
    return [basin_colour(label) for label in range(DIVERGED, n_minima)]


def basin_title(basin_map: BasinMap) -> str:
    args = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in basin_map.hyperparameters.items()
    )
    name = basin_map.objective or "objective"
    return f"basins of {name}: {basin_map.optimizer}({args}), {basin_map.n_steps} steps"


# -- Hessian view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EigenArrow:
    """One eigen-direction at a point: for positive curvature two arrows point in (attracting),
    for negative curvature two arrows point out (repelling); a zero eigenvalue is a flat line.

    tails, tips: (2, n) the two arrows (one per side of the point); length is scaled by
    |eigenvalue| / max |eigenvalue| (at least 15% of the radius so every axis stays visible)."""

    eigenvalue: float
    direction: np.ndarray
    tails: np.ndarray
    tips: np.ndarray
    colour: str
    text: str
    flat: bool


def eigen_arrows(point: CriticalPoint, radius: float) -> list[EigenArrow]:
    centre = point.point.detach().cpu().double().numpy()
    lams = point.eigenvalues.detach().cpu().double().numpy()
    vecs = point.eigenvectors.detach().cpu().double().numpy()
    biggest = float(np.abs(lams).max()) if len(lams) else 0.0
    arrows = []
    for i, lam in enumerate(lams):
        direction = vecs[:, i]
        flat = abs(lam) <= 1e-8 * max(1.0, biggest)
        scale = 0.8 * radius * max(abs(lam) / biggest, 0.15) if biggest > 0 else 0.5 * radius
        far = np.stack([centre + scale * direction, centre - scale * direction])
        near = np.stack([centre, centre])
        symbol = f"\u03bb{i + 1} = {number(lam)}"
        if flat:
            arrows.append(
                EigenArrow(
                    float(lam),
                    direction,
                    near,
                    far,
                    FLAT_COLOUR,
                    f"{symbol}: flat (zero curvature)",
                    True,
                )
            )
        elif lam > 0:
            arrows.append(
                EigenArrow(
                    float(lam),
                    direction,
                    far,
                    near,
                    ATTRACTING_COLOUR,
                    f"{symbol}: attracting (curvature > 0)",
                    False,
                )
            )
        else:
            arrows.append(
                EigenArrow(
                    float(lam),
                    direction,
                    near,
                    far,
                    REPELLING_COLOUR,
                    f"{symbol}: repelling (curvature < 0)",
                    False,
                )
            )
    return arrows


def hessian_radius(objective: Objective, radius: float | None) -> float:
    """Half-width of the view: `radius`, else a quarter of the objective's largest window side
    (1.0 when the objective has no window)."""
    if radius is not None:
        radius = float(radius)
        if not (math.isfinite(radius) and radius > 0):
            raise LosslabError(f"radius == {radius}, must be a finite number > 0.")
        return radius
    bounds = getattr(objective, "bounds", None)
    if bounds is None:
        return 1.0
    bounds = torch.as_tensor(bounds, dtype=torch.float64)
    return 0.25 * float((bounds[:, 1] - bounds[:, 0]).max())


def hessian_box(point: CriticalPoint, objective: Objective, radius: float | None) -> np.ndarray:
    """(n, 2) window of half-width radius around the point."""
    if point.point.shape != (objective.n_params,):
        raise LosslabError(
            f"point has {point.point.numel()} coordinate(s) but objective "
            f"'{getattr(objective, 'name', '')}' has {objective.n_params} parameter(s)."
        )
    r = hessian_radius(objective, radius)
    centre = point.point.detach().cpu().double().numpy()
    return np.stack([centre - r, centre + r], axis=-1)


def hessian_text(point: CriticalPoint) -> str:
    """Multi-line summary: kind, eigenvalues, trace, det, curvature, |gradient|."""
    lams = ", ".join(number(v) for v in point.eigenvalues.tolist())
    lines = [
        f"kind: {point.kind}",
        f"eigenvalues: {lams}",
        f"trace: {number(point.trace)}",
        f"det: {number(point.det)}",
        f"curvature: {point.curvature}",
    ]
    grad = float(torch.linalg.vector_norm(point.gradient))
    if point.kind == "regular":
        lines.append(f"|gradient|: {number(grad)}")
    return "\n".join(lines)


def hessian_title(point: CriticalPoint, objective: Objective) -> str:
    name = point.objective or getattr(objective, "name", "")
    return f"{name} at {point_text(point.point.tolist())}: {point.kind}"


# -- loss curves --------------------------------------------------------------------------------


def loss_scale(all_runs: Sequence[Run], log: bool) -> str:
    """'log' when every loss is >= 0 and some is > 0 (an exact 0 is clipped to the bottom),
    'symlog' when some loss is negative (matplotlib only), else 'linear'."""
    if not log or not all_runs:
        return "linear"
    if all(np.all(run.losses >= 0) for run in all_runs) and any(
        np.any(run.losses > 0) for run in all_runs
    ):
        return "log"
    return "symlog"


def symlog_threshold(all_runs: Sequence[Run]) -> float:
    """The linear band of a symlog axis: wide enough to hold every negative loss, so the part
    below zero reads linearly and only large positive losses are compressed."""
    lowest = min(float(run.losses.min()) for run in all_runs)
    largest = max(float(np.abs(run.losses).max()) for run in all_runs)
    return max(1e-12, -lowest if lowest < 0 else 0.01 * largest)


def axis_labels(n: int = 2) -> tuple[str, ...]:
    return ("w1 (x)", "w2 (y)")[:n] if n == 2 else ("w (x)",)
