"""Evaluate an objective on a regular grid over its window, in one batched call per chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from losslab._checks import check_count
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.results import Result

CHUNK = 65_536  # points per batched call: bounds memory for huge grids, costs nothing for small


@dataclass(frozen=True)
class Grid(Result):
    """Values of a 1-D or 2-D objective on a regular grid.

    coords: one 1-D tensor per parameter, (n0,) [, (n1,)]
    values: (n0,) or (n0, n1) with 'ij' indexing: values[i, j] = f(coords[0][i], coords[1][j])
    """

    result_type = "grid"

    coords: tuple[Tensor, ...]
    values: Tensor
    objective: str = ""
    log_scale: bool = False
    extra: dict = field(default_factory=dict)

    def points(self) -> Tensor:
        """Every grid point, (*values.shape, n_params)."""
        return grid_points(self.coords)


def window(objective: Objective, bounds=None) -> Tensor:
    """The (n_params, 2) window to draw or sample: `bounds` if given, else the objective's."""
    if bounds is None:
        bounds = objective.bounds
        if bounds is None:
            raise LosslabError(f"objective '{objective.name}' has no plotting window: pass bounds.")
    bounds = torch.as_tensor(bounds, dtype=torch.float64)
    if (
        bounds.shape != (objective.n_params, 2)
        or not torch.isfinite(bounds).all()
        or not (bounds[:, 0] < bounds[:, 1]).all()
    ):
        raise LosslabError(
            f"bounds == {bounds.tolist()}, must be {objective.n_params} finite "
            f"[low, high] pair(s) with low < high."
        )
    return bounds


def grid_points(coords: tuple[Tensor, ...]) -> Tensor:
    return torch.stack(torch.meshgrid(*coords, indexing="ij"), dim=-1)


def evaluate_grid(objective: Objective, *, resolution: int = 200, bounds=None) -> Grid:
    """f on a resolution^n_params grid over the window; works for 1-D and 2-D objectives."""
    check_count("resolution", resolution, minimum=2)
    box = window(objective, bounds)
    coords = tuple(
        torch.linspace(float(lo), float(hi), resolution, dtype=torch.float64) for lo, hi in box
    )
    points = grid_points(coords).reshape(-1, objective.n_params)
    with torch.no_grad():
        values = torch.cat([objective(chunk) for chunk in points.split(CHUNK)])
    shape = tuple(len(c) for c in coords)
    return Grid(
        coords,
        values.reshape(shape),
        getattr(objective, "name", ""),
        bool(getattr(objective, "log_scale", False)),
    )
