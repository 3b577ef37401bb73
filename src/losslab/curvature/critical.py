"""Local geometry of low-dimensional objectives: the Hessian at a point, its eigenvalues and the
classification of critical points; and a search for every critical point in a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab._checks import check_count
from losslab.curvature.lanczos import flip_signs
from losslab.errors import LosslabError
from losslab.landscapes.grid import grid_points, window
from losslab.objectives.base import Objective
from losslab.objectives.surfaces import as_params
from losslab.results import Result, summary
from losslab.results.kinds import check_shapes

KINDS = ("minimum", "maximum", "saddle", "degenerate", "regular")
CURVATURES = ("positive definite", "negative definite", "indefinite", "singular")
POINT_SHAPES = {
    "point": ("n",),
    "gradient": ("n",),
    "hessian": ("n", "n"),
    "eigenvalues": ("n",),
    "eigenvectors": ("n", "n"),
}

KINDS = ("minimum", "saddle", "maximum", "degenerate", "regular")


@dataclass(frozen=True)
class CriticalPoint(Result):
    """The local picture at `point`.

    point, gradient: (n,); hessian, eigenvectors: (n, n), eigenvector i in column i;
    eigenvalues: (n,) ascending; kind: minimum | maximum | saddle | degenerate (a zero
    eigenvalue) | regular (gradient not zero); curvature: the shape of the quadratic part
    whatever the gradient: "positive definite" | "negative definite" | "indefinite" | "singular".
    """

    result_type = "critical_point"

    point: Tensor
    value: float
    gradient: Tensor
    hessian: Tensor
    eigenvalues: Tensor
    eigenvectors: Tensor
    trace: float
    det: float
    kind: str
    curvature: str
    objective: str = ""

    def __repr__(self) -> str:
        return summary.compose(
            "CriticalPoint",
            kind=self.kind,
            value=self.value,
            point=summary.first(self.point),
            eigenvalues=summary.first(self.eigenvalues),
            curvature=self.curvature,
            objective=self.objective,
        )

    def __post_init__(self):
        # What tables of a point rely on; a file that breaks it is refused on loading.
        check_shapes(self, POINT_SHAPES)
        if self.kind not in KINDS or self.curvature not in CURVATURES:
            raise LosslabError(
                f"kind {self.kind!r} / curvature {self.curvature!r}: kind must be one of "
                f"{', '.join(KINDS)}; curvature one of {', '.join(CURVATURES)}."
            )


def inspect(
    objective: Objective, at, *, grad_tol: float = 1e-6, eig_tol: float = 1e-8
) -> CriticalPoint:
    """Gradient, Hessian, eigen-decomposition and classification at one point `at` (n,).

    A point is critical when |gradient| <= grad_tol; an eigenvalue counts as zero when
    |lambda| <= eig_tol * max(1, max |lambda|). Eigenvector signs are fixed so that each
    vector's largest-magnitude entry is positive (sklearn's svd_flip rule).
    """
    point = as_params(at)
    if point.shape != (objective.n_params,):
        raise LosslabError(
            f"at == {point.tolist()}: give one point with {objective.n_params} coordinate(s)."
        )
    return _inspect_batch(objective, point.unsqueeze(0), grad_tol, eig_tol)[0]


def _inspect_batch(
    objective: Objective, points: Tensor, grad_tol: float, eig_tol: float
) -> list[CriticalPoint]:
    values, grads = objective.value_and_grad(points)
    hessians = objective.hessian(points)
    hessians = 0.5 * (hessians + hessians.transpose(-1, -2))  # exact symmetry for eigh
    if not (torch.isfinite(values).all() and torch.isfinite(hessians).all()):
        raise LosslabError(
            "the objective or its Hessian is not finite there: choose another point."
        )
    eigenvalues, eigenvectors = torch.linalg.eigh(hessians)
    eigenvectors = flip_signs(eigenvectors.transpose(-1, -2)).transpose(-1, -2)  # columns
    results = []
    for i in range(points.shape[0]):
        lam = eigenvalues[i]
        zero = lam.abs() <= eig_tol * max(1.0, float(lam.abs().max()))
        curvature = (
            "singular"
            if zero.any()
            else "positive definite"
            if (lam > 0).all()
            else "negative definite"
            if (lam < 0).all()
            else "indefinite"
        )
        if float(torch.linalg.vector_norm(grads[i])) > grad_tol:
            kind = "regular"
        else:
            kind = {
                "singular": "degenerate",
                "positive definite": "minimum",
                "negative definite": "maximum",
                "indefinite": "saddle",
            }[curvature]
        results.append(
            CriticalPoint(
                points[i],
                float(values[i]),
                grads[i],
                hessians[i],
                lam,
                eigenvectors[i],
                float(lam.sum()),
                float(torch.linalg.det(hessians[i])),
                kind,
                curvature,
                objective.name,
            )
        )
    return results


def critical_points(
    objective: Objective,
    *,
    bounds=None,
    resolution: int | None = None,
    n_iter: int = 100,
    grad_tol: float = 1e-6,
) -> CriticalPoints:
    """Every critical point found inside the window, classified, sorted by kind then value:
    a CriticalPoints result (it indexes, iterates and unpacks like the list of points).

    Newton's method on the gradient (x <- x - H^+ g) runs from a grid of starts (default 41x41
    in 2-D, 401 in 1-D); it converges to minima, saddles and maxima alike. Converged points
    inside the window are merged when closer than 1e-6 of the window size.
    """
    box = window(objective, bounds)
    n = objective.n_params
    resolution = resolution or (41 if n == 2 else 401)
    check_count("resolution", resolution, minimum=2)
    coords = tuple(
        torch.linspace(float(lo), float(hi), resolution, dtype=torch.float64) for lo, hi in box
    )
    points = grid_points(coords).reshape(-1, n)
    for _ in range(n_iter):
        _, grads = objective.value_and_grad(points)
        hessians = objective.hessian(points)
        step = (torch.linalg.pinv(hessians, hermitian=True) @ grads.unsqueeze(-1)).squeeze(-1)
        points = torch.where(torch.isfinite(step), points - step, points)
    _, grads = objective.value_and_grad(points)
    size = float((box[:, 1] - box[:, 0]).max())
    inside = ((points >= box[:, 0] - 1e-9 * size) & (points <= box[:, 1] + 1e-9 * size)).all(-1)
    keep = (
        inside
        & torch.isfinite(grads).all(-1)
        & (torch.linalg.vector_norm(grads, dim=-1) <= grad_tol)
    )
    unique = _merge(points[keep], 1e-6 * size)
    found = _inspect_batch(objective, unique, grad_tol, 1e-8) if len(unique) else []
    ordered = sorted(found, key=lambda p: (KINDS.index(p.kind), p.value, p.point.tolist()))
    return CriticalPoints(tuple(ordered), objective.name)


def _merge(points: Tensor, radius: float) -> Tensor:
    """Greedy de-duplication: keep a point unless one already kept lies within `radius`."""
    kept: list[Tensor] = []
    for point in points:
        if not kept or torch.linalg.vector_norm(torch.stack(kept) - point, dim=-1).min() > radius:
            kept.append(point)
    return torch.stack(kept) if kept else points[:0]


@dataclass(frozen=True, eq=False)
class CriticalPoints(Result, Sequence[CriticalPoint]):
    """Every critical point found in a window (what `critical_points` returns, as one result
    that `losslab critical --out points.json` saves). Indexing and iterating give the points.

    points: sorted by kind, then value; objective: the objective's name.
    """

    result_type = "critical_points"

    points: tuple[CriticalPoint, ...]
    objective: str = ""

    def __repr__(self) -> str:
        kinds = [point.kind for point in self.points]
        counts = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
        return summary.compose(
            "CriticalPoints", n_points=len(self.points), kinds=counts, objective=self.objective
        )

    def __post_init__(self):
        object.__setattr__(self, "points", tuple(self.points))

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index):
        return self.points[index]
