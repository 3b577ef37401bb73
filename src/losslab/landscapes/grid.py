"""Evaluate an objective on a regular grid over its window, in one batched call per chunk.

The result is the one grid result, a `Landscape`: the identity slice of the objective (origin
zeros, directions the identity), coordinates the raw parameter axes, values {"loss": ...}.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from losslab import budget
from losslab._checks import check_count
from losslab.errors import LosslabError
from losslab.landscapes.result import Landscape
from losslab.objectives.base import Objective

CHUNK = 65_536  # points per batched call: bounds memory for huge grids, costs nothing for small


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


def check_grid(what: str, sizes: Sequence[int], numbers_per_point: int) -> None:
    """Refuse, before anything is allocated, a grid of prod(sizes) points that would not fit
    in memory (each point holds `numbers_per_point` float64 numbers while the call runs) or
    that has more than `budget.MAX_GRID_POINTS` points. The fix it suggests caps every axis
    at one resolution."""
    sizes = [int(s) for s in sizes]
    top = max(sizes)
    shown = top if len(set(sizes)) == 1 else sizes

    def points(r: int) -> int:
        return math.prod(min(s, r) for s in sizes)

    def cost(r: int) -> int:
        return points(r) * numbers_per_point * budget.FLOAT64

    cap = budget.MAX_GRID_POINTS
    within_cap = top if points(top) <= cap else budget.largest_fitting(points, cap, 2, top)
    detail = f"{points(top):.3g} points x {numbers_per_point} float64 numbers each"
    budget.require_memory(
        what, "resolution", top, cost, detail, minimum=2, at_most=within_cap, shown=shown
    )
    budget.require_at_most(
        what,
        "resolution",
        top,
        cap,
        "grid points",
        count=points,
        minimum=2,
        shown=shown,
    )


def grid_points(coords: tuple[Tensor, ...]) -> Tensor:
    return torch.stack(torch.meshgrid(*coords, indexing="ij"), dim=-1)


def evaluate_grid(objective: Objective, *, resolution: int = 200, bounds=None) -> Landscape:
    """f on a resolution^n_params grid over the window (1-D and 2-D objectives), as a
    Landscape: coords (n,) per axis, values {"loss": (n,) or (n, n)} in 'ij' order, origin
    zeros, directions the identity, metadata with the objective's describe() and its known
    minima (so a saved file draws them without the objective)."""
    check_count("resolution", resolution, minimum=2)
    box = window(objective, bounds)
    n = objective.n_params
    # points (S, n), the meshgrid's n axes and their stack (2n), values and their copy (2)
    check_grid("evaluate_grid", [resolution] * n, 3 * n + 2)
    coords = tuple(
        torch.linspace(float(lo), float(hi), resolution, dtype=torch.float64) for lo, hi in box
    )
    points = grid_points(coords).reshape(-1, n)
    with torch.no_grad():
        values = torch.cat([objective(chunk) for chunk in points.split(CHUNK)])
    shape = tuple(len(c) for c in coords)
    minima = objective.minima
    metadata = {
        "objective": objective.describe(),
        "directions": {"kind": "identity"},
        "resolution": list(shape),
        "bounds": box.tolist(),
        "metrics": ["loss"],
        "minima": [] if minima is None else torch.as_tensor(minima).double().tolist(),
    }
    return Landscape(
        tuple(c.numpy() for c in coords),
        {"loss": values.detach().cpu().double().reshape(shape).numpy()},
        np.zeros(n),
        np.eye(n),
        metadata,
    )
