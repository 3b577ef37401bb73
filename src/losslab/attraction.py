"""Basins of attraction: run an optimizer from every point of a grid and label where it ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab._checks import check_count, check_positive
from losslab.curvature.critical import critical_points
from losslab.descent import _check_steps, _run
from losslab.errors import LosslabError
from losslab.landscapes.grid import check_grid, grid_points, window
from losslab.objectives.base import Objective
from losslab.optim.base import Optimizer
from losslab.results import Result
from losslab.results.kinds import FloatArray, IntArray

NO_MINIMUM, DIVERGED = -1, -2


@dataclass(frozen=True)
class BasinMap(Result):
    """Which minimum each start reached.

    coords: one 1-D tensor per parameter, (n0,) [, (n1,)]
    labels: (n0[, n1]) int64, 'ij' indexing: index into `minima`, -1 when the run ended near no
        known minimum, -2 when it diverged
    minima: (k, n_params); final: (n0[, n1], n_params), the last point of every run
    """

    result_type = "basin_map"

    coords: tuple[FloatArray, ...]
    labels: IntArray
    minima: FloatArray
    final: FloatArray
    radius: float
    n_steps: int
    optimizer: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    objective: str = ""

    def __post_init__(self):
        # What tables and pictures of a map rely on; a file that breaks it is refused.
        shape = tuple(len(c) for c in self.coords)
        if not 1 <= len(shape) <= 2 or any(c.ndim != 1 for c in self.coords):
            raise LosslabError("coords must be one or two 1-D axes.")
        if not all(bool(torch.isfinite(c).all()) for c in self.coords):
            raise LosslabError("coords hold NaN or infinity.")
        if tuple(self.labels.shape) != shape:
            raise LosslabError(f"labels have shape {tuple(self.labels.shape)}, the grid {shape}.")
        if self.minima.ndim != 2 or tuple(self.final.shape) != (*shape, self.minima.shape[1]):
            raise LosslabError(
                f"minima {tuple(self.minima.shape)} and final {tuple(self.final.shape)} must "
                f"be (k, n_params) and (*{shape}, n_params)."
            )
        if self.labels.numel() and not (
            int(self.labels.min()) >= DIVERGED and int(self.labels.max()) < len(self.minima)
        ):
            raise LosslabError(
                f"labels must be -2, -1 or an index below {len(self.minima)} into minima."
            )

    def fractions(self) -> dict[int, float]:
        """Share of starts per label, e.g. {0: 0.27, 1: 0.25, ..., -1: 0.0}."""
        values, counts = torch.unique(self.labels, return_counts=True)
        total = self.labels.numel()
        return {int(v): int(c) / total for v, c in zip(values, counts, strict=True)}


def basins(
    objective: Objective,
    optimizer: Optimizer,
    *,
    resolution: int = 200,
    n_steps: int = 500,
    bounds=None,
    minima=None,
    radius: float | None = None,
    tol: float = 1e-8,
) -> BasinMap:
    """Run `optimizer` from a resolution^n grid of starts over the window, all in one batch.

    minima: (k, n) to label against; default: the objective's known minima, else the minima
        that `critical_points` finds.
    radius: a run belongs to the nearest minimum within this distance (default: 5% of the
        window's diagonal, capped at a quarter of the closest distance between two minima).
    """
    check_count("resolution", resolution, minimum=2)
    _check_steps("basins", n_steps)
    box = window(objective, bounds)
    n = objective.n_params
    # Per start, float64: the grid and its meshgrid (2n); in the loop params, candidate,
    # gradients, new gradients, update (5n), up to two optimizer moments (2n), a Hessian (n^2)
    # for Newton; values, new values, status, stop step, label, distance (6).
    check_grid("basins", [resolution] * n, 9 * n + n * n + 6)
    coords = tuple(
        torch.linspace(float(lo), float(hi), resolution, dtype=torch.float64) for lo, hi in box
    )
    starts = grid_points(coords).reshape(-1, n)
    minima = _minima(objective, minima)
    radius = _default_radius(box, minima) if radius is None else check_positive("radius", radius)
    final = _run(objective, [optimizer], starts, n_steps, tol=tol, bound=None)
    labels = torch.full((starts.shape[0],), NO_MINIMUM, dtype=torch.int64)
    if len(minima):
        distance = torch.cdist(final.params, minima)  # (S, k)
        nearest, index = distance.min(dim=1)
        labels = torch.where(nearest <= radius, index, labels)
    labels[final.status == 2] = DIVERGED
    shape = tuple(len(c) for c in coords)
    return BasinMap(
        coords,
        labels.reshape(shape),
        minima,
        final.params.reshape(*shape, objective.n_params),
        radius,
        n_steps,
        optimizer.name,
        dict(optimizer.hyperparameters),
        objective.name,
    )


def _minima(objective: Objective, minima) -> Tensor:
    if minima is not None:
        return torch.as_tensor(minima, dtype=torch.float64).reshape(-1, objective.n_params)
    if len(objective.minima):
        return objective.minima
    found = [p.point for p in critical_points(objective) if p.kind == "minimum"]
    return torch.stack(found) if found else torch.empty(0, objective.n_params, dtype=torch.float64)


def _default_radius(box: Tensor, minima: Tensor) -> float:
    radius = 0.05 * float(torch.linalg.vector_norm(box[:, 1] - box[:, 0]))
    if len(minima) > 1:
        gaps = torch.pdist(minima)
        radius = min(radius, 0.25 * float(gaps.min()))
    return radius
