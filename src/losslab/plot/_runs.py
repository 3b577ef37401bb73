"""Results as plain arrays for the scene builders: runs of trajectories (with their colours and
legend texts), critical points by kind, the gradient field, basin shares, the Hessian's
eigen-arrows, the scale of a loss axis.

Backend-free (numpy and torch only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from losslab.attraction import DIVERGED, NO_MINIMUM, BasinMap
from losslab.curvature import CriticalPoint
from losslab.descent import Trajectory
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.plot import style
from losslab.plot.scene import number, point_text


@dataclass(frozen=True)
class Run:
    """One run of a trajectory, as plain arrays ready to draw.

    path:   (k, n_params) the points actually visited, k = stopped_at + 1
    losses: (k,) the loss at each visited point
    label:  the optimizer's label, e.g. "momentum(lr=0.001, beta=0.9)"
    legend: the label plus how the run ended, e.g. "gd(lr=0.5): diverged at step 7"
    group:  index of the Trajectory it came from (a batched trajectory gives several runs)
    show_legend: False for a repeat of a legend entry already shown (batched starts)
    ending: how it ended for hover texts, when the caller knows better than the status
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
    ending: str = ""  # how it ended in other words (a diagnosis's label); "" for status_text

    @property
    def ending_text(self) -> str:
        """How the run ended: `ending` when given, else status_text ('diverged at step 8')."""
        return self.ending or status_text(self.status, self.stopped_at)

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


def float64(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as float64 numpy on the CPU, detached: how results become arrays."""
    return tensor.detach().cpu().double().numpy()


def status_text(status: str, stopped_at: int) -> str:
    """How a run ended, in words. A diverged run's step stopped_at + 1 is the one that blew up
    (its row stopped_at is the last good point)."""
    if status == "diverged":
        return f"diverged at step {stopped_at + 1}"
    steps = "1 step" if stopped_at == 1 else f"{stopped_at} steps"
    if status == "converged":
        return f"converged in {steps}"
    return steps


def items_of(given, kind: type, what: str, give: str) -> list:
    """One `kind` object, or any iterable of them, -> a list (empty for None). An item of
    another type is refused in one line: "<what> contains a <type>: give <give>."."""
    if given is None:
        return []
    if isinstance(given, kind):
        return [given]
    items = list(given)
    for item in items:
        if not isinstance(item, kind):
            raise LosslabError(f"{what} contains a {type(item).__name__}: give {give}.")
    return items


def as_trajectories(trajectories) -> list[Trajectory]:
    """A Trajectory, or any iterable of them, -> a list (empty for None or ())."""
    give = "Trajectory objects (from losslab.descend or losslab.race), or a list of them"
    return items_of(trajectories, Trajectory, "trajectories", give)


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
            colour = style.optimizer_colour(trajectory.optimizer, used)
            colours[label] = colour
            used.add(colour)
        for run in trajectory.runs():
            stop = int(run.stopped_at)
            path = float64(run.params[: stop + 1])
            losses = float64(run.losses[: stop + 1])
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


def gradient_field(
    objective: Objective, box: np.ndarray, n: int = style.GRADIENT_GRID
) -> GradientField:
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


def minima_array(objective) -> np.ndarray:
    """Known minima (k, n) as numpy; empty when none are known."""
    minima = objective.minima
    if minima is None or len(minima) == 0:
        return np.empty((0, objective.n_params))
    return float64(torch.as_tensor(minima))


def as_critical_points(points) -> list[CriticalPoint]:
    """A CriticalPoint, or any iterable of them (CriticalPoints), -> a list."""
    give = "CriticalPoint objects (from losslab.inspect or losslab.critical_points)"
    return items_of(points, CriticalPoint, "critical_points", give)


def critical_groups(points) -> list[tuple[str, np.ndarray]]:
    """Critical points grouped by kind, in the order of KINDS: [(kind, (m, n) array)]."""
    points = as_critical_points(points)
    groups = []
    for kind in style.CRITICAL_KINDS:
        chosen = [float64(p.point) for p in points if p.kind == kind]
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
                index, style.basin_colour(index), f"minimum {point_text(minimum, 3)}: {share:.1f}%"
            )
        )
    for label, what in ((NO_MINIMUM, "no known minimum"), (DIVERGED, "diverged")):
        if label in fractions:
            entries.append(
                BasinEntry(
                    label, style.basin_colour(label), f"{what}: {100 * fractions[label]:.1f}%"
                )
            )
    return entries


def basin_colours(n_minima: int) -> list[str]:
    """Colours for labels -2, -1, 0, ..., n_minima - 1, in that order."""
    return [style.basin_colour(label) for label in range(DIVERGED, n_minima)]


def basin_title(basin_map: BasinMap) -> str:
    args = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in basin_map.hyperparameters.items()
    )
    name = basin_map.objective or "objective"
    return f"basins of {name}: {basin_map.optimizer}({args}), {basin_map.n_steps} steps"


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
    centre = float64(point.point)
    lams = float64(point.eigenvalues)
    vecs = float64(point.eigenvectors)
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
            tails, tips, colour, words = near, far, style.FLAT_COLOUR, "flat (zero curvature)"
        elif lam > 0:  # attracting: the arrows point in
            tails, tips, colour = far, near, style.ATTRACTING_COLOUR
            words = "attracting (curvature > 0)"
        else:
            tails, tips, colour = near, far, style.REPELLING_COLOUR
            words = "repelling (curvature < 0)"
        arrows.append(
            EigenArrow(float(lam), direction, tails, tips, colour, f"{symbol}: {words}", bool(flat))
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
    bounds = objective.bounds
    if bounds is None:
        return 1.0
    bounds = torch.as_tensor(bounds, dtype=torch.float64)
    return 0.25 * float((bounds[:, 1] - bounds[:, 0]).max())


def hessian_box(point: CriticalPoint, objective: Objective, radius: float | None) -> np.ndarray:
    """(n, 2) window of half-width radius around the point."""
    if point.point.shape != (objective.n_params,):
        raise LosslabError(
            f"point has {point.point.numel()} coordinate(s) but objective "
            f"'{objective.name}' has {objective.n_params} parameter(s)."
        )
    r = hessian_radius(objective, radius)
    centre = float64(point.point)
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
