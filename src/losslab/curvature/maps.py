"""A curvature map: the extreme Hessian eigenvalues and |lambda_min / lambda_max| at every point
of a 2-D landscape grid, to see where a slice passes through saddle-like regions (Li et al.
2018, their Fig. 7 maps this ratio: near 0 locally convex, large strongly non-convex).

The eigenvalues are those of the full Hessian (or of a parameter subset's block) at each grid
point origin + a d0 + b d1, not of the 2-D slice. Small objectives (n <= EXACT_MAX, e.g. the
2-D surfaces) get exact eigenvalues from their closed-form / torch.func Hessian; networks get
the extreme Ritz values of `n_steps` Lanczos steps per point (from one seeded start shared by
all points). Ritz values lie inside the spectrum, so theta_max <= lambda_max and
theta_min >= lambda_min: with few steps the ratio is an underestimate (more steps, closer).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch
from torch import Tensor

from losslab._checks import check_count, check_positive, check_seed
from losslab.curvature.hvp import HessianOperator
from losslab.curvature.lanczos import lanczos
from losslab.curvature.operators import resolve_point, select
from losslab.directions import Directions
from losslab.errors import LosslabError
from losslab.landscapes.grid import check_grid
from losslab.landscapes.result import Landscape
from losslab.objectives.kernels import twice_differentiable
from losslab.params import as_vector
from losslab.results import Result, summary
from losslab.results.kinds import check_shapes

EXACT_MAX = 64  # objectives with at most this many parameters get exact Hessians
DEFAULT_SPAN = 1.0  # each axis from -1 to 1 when no span is given and no window applies


@dataclass(frozen=True)
class CurvatureMap(Result):
    """Extreme eigenvalues on a grid, 'ij' indexing: lambda_max[i, j] is at
    origin + coords[0][i] d0 + coords[1][j] d1.

    coords: two (n0,), (n1,) float64 axes; lambda_max, lambda_min, ratio: (n0, n1) float64,
    ratio = |lambda_min / lambda_max| (nan where lambda_max == 0); origin (n_params,),
    directions (2, n_params) float64; exact: True when eigenvalues are exact, False for
    Lanczos estimates with n_steps steps per point.
    """

    result_type = "curvature_map"

    coords: tuple[Tensor, Tensor]
    lambda_max: Tensor
    lambda_min: Tensor
    ratio: Tensor
    origin: Tensor
    directions: Tensor
    exact: bool
    n_steps: int
    seed: int
    objective: str = ""

    def __repr__(self) -> str:
        axes = " x ".join(str(summary.span(axis)) for axis in self.coords)
        return summary.compose(
            "CurvatureMap",
            grid=summary.raw("x".join(str(len(axis)) for axis in self.coords)),
            span=summary.raw(axes),
            lambda_max=summary.span(self.lambda_max),
            lambda_min=summary.span(self.lambda_min),
            n_params=self.origin.numel(),
            exact=self.exact,
            objective=self.objective,
        )

    def __post_init__(self):
        # What pictures of a map rely on; a file that breaks it is refused on loading.
        axes = {"coords/0": self.coords[0], "coords/1": self.coords[1]}
        check_shapes(SimpleNamespace(**axes), {"coords/0": ("n0",), "coords/1": ("n1",)})
        grid = (len(self.coords[0]), len(self.coords[1]))
        check_shapes(self, {name: grid for name in ("lambda_max", "lambda_min", "ratio")})
        check_shapes(self, {"origin": ("n",), "directions": (2, "n")})
        if not all(bool(torch.isfinite(c).all()) for c in self.coords):
            raise LosslabError("coords hold NaN or infinity.")


def curvature_map(
    objective,
    directions=None,
    *,
    span=None,
    resolution: int = 11,
    origin=None,
    params=None,
    n_steps: int = 20,
    seed: int = 0,
    exact: bool | None = None,
) -> CurvatureMap:
    """The curvature map of `objective` over a 2-D grid.

    directions: two directions (a `Directions`, a (2, n_params) tensor or two parameter dicts),
        or a computed `Landscape` (its coords, origin and directions are used: span,
        resolution and origin are then ignored), or None for the raw axes of a 2-parameter
        objective.
    span: s (each axis from -s to s) or ((lo0, hi0), (lo1, hi1)); default None: the
        objective's window (`bounds`) for raw axes with no origin given, else 1.0.
    resolution: points per axis.
    origin: default `directions.origin`, else the objective's own weights, else 0.
    exact: force exact Hessians (True) or Lanczos (False); default: exact when the objective
        has at most EXACT_MAX parameters.
    """
    check_count("n_steps", n_steps)
    check_seed(seed)
    coords, origin, dirs = _grid(objective, directions, span, resolution, origin)
    if exact is None:
        exact = objective.n_params <= EXACT_MAX
    a, b = torch.meshgrid(coords[0], coords[1], indexing="ij")
    steps = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)
    points = origin[None, :] + steps @ dirs  # (P, n_params) float64
    if exact:
        hi, lo = _exact(objective, points, params)
    else:
        hi, lo = _lanczos(objective, points, params, n_steps, seed)
    shape = (coords[0].numel(), coords[1].numel())
    hi, lo = hi.reshape(shape), lo.reshape(shape)
    ratio = torch.where(hi != 0, (lo / hi).abs(), torch.full_like(hi, float("nan")))
    return CurvatureMap(
        coords=coords,
        lambda_max=hi,
        lambda_min=lo,
        ratio=ratio,
        origin=origin,
        directions=dirs,
        exact=bool(exact),
        n_steps=0 if exact else n_steps,
        seed=seed,
        objective=objective.name,
    )


def _exact(objective, points: Tensor, params) -> tuple[Tensor, Tensor]:
    index, _, _ = select(objective.layout, objective.n_params, params)
    at = torch.stack([resolve_point(objective, point) for point in points])
    with twice_differentiable():  # attention as its math kernel (see objectives.kernels)
        hessians = objective.hessian(at).to(torch.float64)
    if index is not None:
        hessians = hessians[:, index][:, :, index]
    values = torch.linalg.eigvalsh(0.5 * (hessians + hessians.transpose(-1, -2)))
    return values[:, -1], values[:, 0]


def _lanczos(objective, points: Tensor, params, n_steps: int, seed: int):
    his, los = [], []
    start = None
    for point in points:
        op = HessianOperator(objective, at=point, params=params)
        if start is None:
            start = torch.randn(
                op.n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
            )
        theta, _, _ = lanczos(op.matvec, start, n_steps).ritz()
        his.append(theta[-1])
        los.append(theta[0])
    return torch.stack(his), torch.stack(los)


def _grid(objective, directions, span, resolution, origin):
    """(coords (2 tensors), origin (n,), directions (2, n)) in float64."""
    n = objective.n_params
    layout = objective.layout
    if isinstance(directions, Landscape):
        coords = tuple(torch.as_tensor(c, dtype=torch.float64) for c in directions.coords)
        dirs = torch.as_tensor(directions.directions, dtype=torch.float64)
        origin = torch.as_tensor(directions.origin, dtype=torch.float64)
        if len(coords) != 2:
            raise LosslabError("a curvature map needs a 2-D landscape (two directions).")
        return coords, origin, dirs
    check_count("resolution", resolution, 2)
    # Per point: lambda_max, lambda_min and their ratio, with the Lanczos work of one point.
    check_grid("curvature_map", [resolution, resolution], 8)
    if directions is None:
        if n != 2:
            raise LosslabError(
                f"directions == None means the raw axes of a 2-parameter objective; this one "
                f"has {n}: give two directions, e.g. "
                "losslab.curvature.hessian_directions(objective)."
            )
        dirs = torch.eye(2, dtype=torch.float64)
        if span is None and origin is None and objective.bounds is not None:
            span = [tuple(float(v) for v in row) for row in objective.bounds]
            origin = torch.zeros(2, dtype=torch.float64)
    else:
        dirs = _direction_rows(directions, layout, n)
        if origin is None and isinstance(directions, Directions):
            origin = directions.origin
    if origin is None:
        own = objective.origin
        origin = own if own is not None else torch.zeros(n, dtype=torch.float64)
    origin = (as_vector(layout, origin) if layout is not None else torch.as_tensor(origin)).to(
        torch.float64
    )
    if origin.shape != (n,):
        raise LosslabError(f"origin has shape {tuple(origin.shape)}, must be ({n},).")
    ranges = _ranges(DEFAULT_SPAN if span is None else span)
    coords = tuple(torch.linspace(lo, hi, resolution, dtype=torch.float64) for lo, hi in ranges)
    return coords, origin, dirs


def _direction_rows(directions, layout, n: int) -> Tensor:
    if isinstance(directions, Directions):
        rows = directions.vectors
    elif isinstance(directions, list | tuple):
        rows = torch.stack(
            [as_vector(layout, d) if layout is not None else torch.as_tensor(d) for d in directions]
        )
    else:
        rows = torch.as_tensor(directions)
    rows = rows.to(torch.float64)
    if rows.shape != (2, n):
        raise LosslabError(
            f"directions of shape {tuple(rows.shape)}: a curvature map needs two directions "
            f"of {n} parameters, (2, {n})."
        )
    return rows


def _ranges(span) -> list[tuple[float, float]]:
    if isinstance(span, int | float):
        span = check_positive("span", span)
        return [(-span, span)] * 2
    pairs = [tuple(s) if isinstance(s, list | tuple) else (-float(s), float(s)) for s in span]
    if len(pairs) != 2 or not all(len(p) == 2 and p[0] < p[1] for p in pairs):
        raise LosslabError(f"span == {span!r}: give s > 0 or ((lo0, hi0), (lo1, hi1)), lo < hi.")
    return [(float(lo), float(hi)) for lo, hi in pairs]
