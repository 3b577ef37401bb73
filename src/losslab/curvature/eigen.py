"""Extreme eigenvalues and eigenvectors of a Hessian (or of the Gauss-Newton or empirical
Fisher matrix: kind="ggn" | "fisher", see kinds.py) by Lanczos, to a stated tolerance.

    top = eigenvalues(objective, k=5)                       # 5 largest, descending
    low = eigenvalues(objective, k=2, which="smallest")     # 2 most negative, ascending
    top.eigenvectors[0]                                     # {"0.weight": ..., ...}
    ends = extremes(objective)                              # lambda_max, lambda_min, ratio

Tolerance: an eigenvalue is converged when the Lanczos error bound (`lanczos.error_bounds`:
min(r, r^2 / gap), r the residual norm) is at most `tol * max(|theta|, 0.01 * |theta|_max)`:
relative to the eigenvalue itself, except that eigenvalues nearer to zero than a hundredth of
the spectral scale are judged against that hundredth (float32 products cannot resolve them
better). The iteration stops once all k wanted values are converged, or after `max_steps`
products (then `converged` says which are not).

Eigenvectors are unit vectors signed so that each one's largest-|.| entry is positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losslab import budget
from losslab._checks import check_count, check_positive, check_seed
from losslab.curvature.kinds import NAMES, check_kind, operator
from losslab.curvature.lanczos import error_bounds, flip_signs, lanczos, tridiagonal
from losslab.curvature.operators import CurvatureOperator
from losslab.errors import LosslabError
from losslab.params import ParamLayout
from losslab.results import Result, summary
from losslab.results.kinds import check_shapes

WHICH = ("largest", "smallest")
SCALE_FLOOR = 0.01  # eigenvalues are judged relative to max(|theta|, SCALE_FLOOR * |theta|_max)


@dataclass(frozen=True)
class Eigenpairs(Result):
    """k extreme eigenpairs of a Hessian (or of its block for a parameter subset).

    values: (k,) float64, descending for "largest", ascending for "smallest".
    vectors: (k, n) float64 unit rows in the operator's coordinates (n = n_params, or the
        subset's size), signed so that each row's largest-|.| entry is positive; None where
        they were not kept (a HessianReport keeps the eigenvalues only).
    residuals: (k,) Lanczos residual norms ||H v - lambda v||.
    error_bounds: (k,) bounds on |lambda_true - value| (see the module docstring).
    converged: (k,) bool, error_bounds <= tol * max(|value|, 0.01 max|value|).
    n_products: Hessian-vector products used; names/shapes: the (sub)layout of a network
    (None for a plain vector); index: the subset's positions in the flat vector (None: all).
    kind: the matrix, "hessian", "ggn" or "fisher" (files written before it read "hessian").
    """

    result_type = "eigenpairs"

    values: Tensor
    vectors: Tensor | None
    residuals: Tensor
    error_bounds: Tensor
    converged: Tensor
    which: str
    tol: float
    seed: int
    n_products: int
    n_params: int
    names: tuple[str, ...] | None = None
    shapes: tuple[tuple[int, ...], ...] | None = None
    index: Tensor | None = None
    objective: str = ""
    kind: str = "hessian"

    def __repr__(self) -> str:
        return summary.compose(
            "Eigenpairs",
            kind=self.kind,
            which=self.which,
            k=self.values.numel(),
            n_params=self.n_params,
            values=summary.first(self.values),
            converged=summary.raw(f"{int(self.converged.sum())}/{self.converged.numel()}"),
            vectors=self.vectors,
            n_products=self.n_products,
            objective=self.objective,
        )

    def __post_init__(self):
        check_kind(self.kind)
        # What the vectors and tables rely on; a file that breaks it is refused on loading.
        shapes = {"values": ("k",), "vectors": ("k", "n"), "index": ("n",)}
        check_shapes(self, {**shapes, "residuals": ("k",), "error_bounds": ("k",)})
        check_shapes(self, {"values": ("k",), "converged": ("k",)})
        if self.which not in WHICH:
            raise LosslabError(f"which == {self.which!r}, must be 'largest' or 'smallest'.")
        if (self.names is None) != (self.shapes is None) or (
            self.names is not None and len(self.names) != len(self.shapes)
        ):
            raise LosslabError("names and shapes must pair each parameter with its shape.")

    @property
    def eigenvectors(self) -> list:
        """Parameter dicts {name: tensor} for a network, (n,) tensors for a plain vector."""
        self._check_vectors()
        if self.names is None:
            return list(self.vectors.unbind(0))
        layout = ParamLayout(tuple(self.names), tuple(tuple(s) for s in self.shapes))
        return [layout.unflatten(v.clone()) for v in self.vectors]

    def full_vectors(self) -> Tensor:
        """(k, n_params): the eigenvectors in the full flat vector, zeros off the subset."""
        self._check_vectors()
        if self.index is None:
            return self.vectors
        full = self.vectors.new_zeros(self.vectors.shape[0], self.n_params)
        full[:, self.index] = self.vectors
        return full

    def _check_vectors(self) -> None:
        if self.vectors is None:
            raise LosslabError(
                "these eigenpairs kept no vectors (a HessianReport keeps eigenvalues only): "
                "compute them with losslab.curvature.eigenvalues."
            )


@dataclass(frozen=True)
class Extremes(Result):
    """The largest and the most negative eigenvalue and |lambda_min / lambda_max|.

    ratio near 0: locally convex (a minimum's neighbourhood); large: strongly non-convex,
    saddle-like (Li et al. 2018 map this ratio). nan when lambda_max == 0."""

    result_type = "extremes"

    lambda_max: float
    lambda_min: float
    ratio: float
    error_bounds: tuple[float, float]
    converged: tuple[bool, bool]
    n_products: int
    objective: str = ""
    kind: str = "hessian"

    def __post_init__(self):
        check_kind(self.kind)


def eigenvalues(
    objective,
    k: int = 5,
    which: str = "largest",
    tol: float = 1e-4,
    seed: int = 0,
    *,
    at=None,
    params=None,
    max_steps: int | None = None,
    method: str = "auto",
    kind: str = "hessian",
) -> Eigenpairs:
    """The k largest (or smallest) eigenvalues of the Hessian of `objective` at `at`
    (kind="ggn": of the Gauss-Newton matrix, kind="fisher": of the empirical Fisher).

    objective: a surface (give `at`) or a network objective (default: at its own weights).
    params: a parameter subset (module prefix, name or list): the eigenpairs of the block
        H[S, S]; see `HessianOperator`.
    max_steps: the most Lanczos steps (= products); default min(n, 100 + 20 k).
    method: how products are computed ("auto", "reuse", "forward", "reverse").
    """
    check_kind(kind)
    check_count("k", k)
    if which not in WHICH:
        raise LosslabError(f"which == {which!r}, must be 'largest' or 'smallest'.")
    check_positive("tol", tol)
    check_seed(seed)
    op = operator(objective, kind, at=at, params=params, method=method)
    if k > op.n:
        raise LosslabError(
            f"k == {k}, but the {NAMES[kind]} is {op.n}x{op.n}: ask for k <= {op.n}."
        )
    steps = min(op.n, 100 + 20 * k) if max_steps is None else check_count("max_steps", max_steps)
    if steps < k:
        raise LosslabError(f"max_steps == {steps} is fewer than k == {k}.")

    # Lanczos keeps every basis vector (full reorthogonalization): steps x n float64.
    def basis_bytes(kk: int) -> int:
        n_steps = min(op.n, 100 + 20 * kk) if max_steps is None else steps
        return n_steps * op.n * budget.FLOAT64

    detail = f"a Lanczos basis of {steps} vectors x {op.n} float64 numbers"
    budget.require_memory("eigenvalues", "k", k, basis_bytes, detail)

    def pick(theta: Tensor) -> Tensor:
        order = torch.arange(theta.numel())
        return order.flip(0)[:k] if which == "largest" else order[:k]

    theta, s, residuals, bounds, basis, n_products = _run(op, steps, seed, tol, pick, k)
    chosen = pick(theta)
    vectors = flip_signs(s[:, chosen].T @ basis)
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    values = theta[chosen]
    ok = _converged(values, bounds[chosen], theta, tol)
    op.release()
    return Eigenpairs(
        values=values,
        vectors=vectors,
        residuals=residuals[chosen],
        error_bounds=bounds[chosen],
        converged=ok,
        which=which,
        tol=float(tol),
        seed=seed,
        n_products=n_products,
        n_params=objective.n_params,
        names=op.names,
        shapes=op.shapes,
        index=op.index,
        objective=objective.name,
        kind=kind,
    )


def extremes(
    objective,
    *,
    at=None,
    params=None,
    tol: float = 1e-4,
    seed: int = 0,
    max_steps: int | None = None,
    method: str = "auto",
    kind: str = "hessian",
) -> Extremes:
    """lambda_max, lambda_min (the most negative eigenvalue, or the smallest) and
    |lambda_min / lambda_max| from one Lanczos run that converges both ends."""
    check_kind(kind)
    check_positive("tol", tol)
    check_seed(seed)
    op = operator(objective, kind, at=at, params=params, method=method)
    steps = min(op.n, 300) if max_steps is None else check_count("max_steps", max_steps)

    def pick(theta: Tensor) -> Tensor:
        return torch.tensor([theta.numel() - 1, 0])

    theta, _, _, bounds, _, n_products = _run(op, steps, seed, tol, pick, 1)
    op.release()
    hi, lo = float(theta[-1]), float(theta[0])
    ok = _converged(theta[[-1, 0]], bounds[[-1, 0]], theta, tol)
    return Extremes(
        lambda_max=hi,
        lambda_min=lo,
        ratio=abs(lo / hi) if hi != 0 else float("nan"),
        error_bounds=(float(bounds[-1]), float(bounds[0])),
        converged=(bool(ok[0]), bool(ok[1])),
        n_products=n_products,
        objective=objective.name,
        kind=kind,
    )


# -- internals ----------------------------------------------------------------------------------


def _run(op: CurvatureOperator, steps: int, seed: int, tol: float, pick, k: int):
    """Lanczos from a seeded Gaussian start, stopping when the picked values converge."""
    generator = torch.Generator().manual_seed(seed)
    start = torch.randn(op.n, generator=generator, dtype=torch.float64)

    def stop(alphas: Tensor, betas: Tensor, beta: float) -> bool:
        if alphas.numel() < k:
            return False
        theta, s = torch.linalg.eigh(tridiagonal(alphas, betas))
        residuals = beta * s[-1].abs()
        bounds = error_bounds(theta, residuals)
        chosen = pick(theta)
        return bool(_converged(theta[chosen], bounds[chosen], theta, tol).all())

    krylov = lanczos(op.matvec, start, steps, restart=generator, stop=stop)
    theta, s, residuals = krylov.ritz()
    bounds = error_bounds(theta, residuals)
    return theta, s, residuals, bounds, krylov.basis, krylov.n_steps


def _converged(values: Tensor, bounds: Tensor, theta: Tensor, tol: float) -> Tensor:
    scale = float(theta.abs().max()) if theta.numel() else 0.0
    return bounds <= tol * torch.clamp(values.abs(), min=SCALE_FLOOR * scale)
