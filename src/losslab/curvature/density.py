"""The spectral density of a Hessian by stochastic Lanczos quadrature (SLQ); of the Gauss-Newton
or empirical Fisher matrix with kind="ggn" | "fisher".

For a unit probe v, m Lanczos steps give T = Q^T H Q; its eigenvalues theta_j (nodes) and the
squared first components tau_j of its eigenvectors (weights, summing to 1) form a Gauss
quadrature of the spectral measure of H seen from v:  v^T g(H) v ~ sum_j tau_j g(theta_j).
Averaged over Rademacher probes and smoothed by a Gaussian of width sigma, it estimates the
eigenvalue density (Ghorbani, Krishnan, Xiao 2019; Lin, Saad, Yang 2016):

    phi(t) = 1/P sum_p sum_j tau_pj N(t; theta_pj, sigma^2),   integral of phi = 1.

The result is a `Spectrum`: the grid and density (what the log-density plot draws) and the
raw nodes and weights, so the same run can be re-smoothed (`Spectrum.broaden`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab import budget
from losslab._checks import check_count, check_positive, check_seed
from losslab.curvature.kinds import check_kind
from losslab.curvature.probes import OperatorRecipe, run_units, spectral_nodes, split
from losslab.curvature.trace import rademacher, require_probes
from losslab.executors import executor_of
from losslab.results import Result, summary
from losslab.results.kinds import check_shapes

SIGMA_FRACTION = 0.01  # default sigma: this fraction of the range of the nodes
MARGIN = 5.0  # the grid reaches this many sigma beyond the extreme nodes


@dataclass(frozen=True)
class Spectrum(Result):
    """An estimated eigenvalue density of a Hessian.

    grid, density: (n_grid,) float64; density integrates to 1 over the real line (the grid
        covers the nodes +- 5 sigma, so it holds almost all of the mass).
    nodes, weights: (n_probes, n_steps) Ritz values and their quadrature weights per probe
        (a probe whose Krylov space closed early is padded with weight 0).
    sigma: the Gaussian width; n_params: the size of the Hessian (n of the subset if any).
    kind: the matrix ("hessian", "ggn" or "fisher").
    """

    result_type = "spectrum"

    grid: Tensor
    density: Tensor
    nodes: Tensor
    weights: Tensor
    sigma: float
    n_params: int
    n_products: int
    seed: int
    names: tuple[str, ...] | None = None
    objective: str = ""
    kind: str = "hessian"

    def __repr__(self) -> str:
        live = self.nodes[self.weights > 0]  # the Ritz values that carry mass
        return summary.compose(
            "Spectrum",
            kind=self.kind,
            n_params=self.n_params,
            grid=summary.raw(f"{self.grid.numel()} points over {summary.span(self.grid)}"),
            lambda_range=summary.span(live if live.numel() else self.grid),
            sigma=self.sigma,
            n_probes=self.nodes.shape[0],
            n_products=self.n_products,
            objective=self.objective,
        )

    def __post_init__(self):
        check_kind(self.kind)
        # What `trace` and `broaden` rely on; a file that breaks it is refused on loading.
        check_shapes(self, {"grid": ("g",), "density": ("g",)})
        check_shapes(self, {"nodes": ("probes", "steps"), "weights": ("probes", "steps")})

    @property
    def trace(self) -> float:
        """The SLQ estimate of tr(H): n * mean over probes of sum_j tau_j theta_j."""
        return self.n_params * float((self.nodes * self.weights).sum(dim=1).mean())

    def broaden(self, sigma: float | None = None, n_grid: int | None = None) -> Spectrum:
        """The same nodes smoothed with another width or on another grid."""
        grid, density, sigma = smooth(
            self.nodes, self.weights, sigma, n_grid or int(self.grid.numel())
        )
        return Spectrum(
            grid=grid,
            density=density,
            nodes=self.nodes,
            weights=self.weights,
            sigma=sigma,
            n_params=self.n_params,
            n_products=self.n_products,
            seed=self.seed,
            names=self.names,
            objective=self.objective,
            kind=self.kind,
        )


def density(
    objective,
    n_probes: int = 3,
    n_steps: int = 80,
    seed: int = 0,
    *,
    at=None,
    params=None,
    sigma: float | None = None,
    n_grid: int = 1000,
    method: str = "auto",
    kind: str = "hessian",
    executor=None,
) -> Spectrum:
    """The Hessian's eigenvalue density from n_probes x n_steps products (n_steps <= n).

    sigma: Gaussian width (default 1% of the range of the nodes); n_grid: grid points.
    kind: "hessian", "ggn" (Gauss-Newton) or "fisher" (empirical Fisher): whose density.
    executor: who runs the probes' Lanczos ("local", "ray" or a `losslab.executors.Executor`),
        one probe per unit; the probes are drawn here from `seed`, so the numbers are the same.
    """
    check_kind(kind)
    check_count("n_probes", n_probes)
    check_count("n_steps", n_steps)
    check_count("n_grid", n_grid, 2)
    if sigma is not None:
        check_positive("sigma", sigma)
    check_seed(seed)
    recipe = OperatorRecipe(objective, kind, at, params, method)
    op = recipe.operator()
    n = op.n
    budget.require_memory(
        "density",
        "n_steps",
        n_steps,
        lambda k: min(k, n) * n * budget.FLOAT64,
        f"a Lanczos basis of {min(n_steps, n)} vectors x {n} float64 numbers",
    )
    require_probes("density", n_probes, n)
    generator = torch.Generator().manual_seed(seed)
    steps = min(n_steps, n)
    nodes = torch.zeros(n_probes, steps, dtype=torch.float64)
    weights = torch.zeros(n_probes, steps, dtype=torch.float64)
    units = [(probes, steps) for probes in split(rademacher(op.n, generator, n_probes), 1)]
    per_unit, n_products = run_units(executor_of(executor), spectral_nodes, recipe, units, "probe")
    for p, [(theta, squares)] in enumerate(per_unit):
        m = len(theta)
        nodes[p, :m], weights[p, :m] = torch.tensor(theta), torch.tensor(squares)
        nodes[p, m:] = float(theta[-1])
    op.release()
    grid, values, sigma = smooth(nodes, weights, sigma, n_grid)
    return Spectrum(
        grid=grid,
        density=values,
        nodes=nodes,
        weights=weights,
        sigma=sigma,
        n_params=op.n,
        n_products=n_products,
        seed=seed,
        names=None if op.index is None else op.names,
        objective=objective.name,
        kind=kind,
    )


def smooth(
    nodes: Tensor, weights: Tensor, sigma: float | None, n_grid: int
) -> tuple[Tensor, Tensor, float]:
    """(grid, density, sigma): the weighted nodes smoothed by Gaussians, averaged over probes."""
    used = nodes[weights > 0] if (weights > 0).any() else nodes.reshape(-1)
    lo, hi = float(used.min()), float(used.max())
    if sigma is None:
        spread = hi - lo if hi > lo else max(abs(hi), 1.0)
        sigma = SIGMA_FRACTION * spread
    grid = torch.linspace(lo - MARGIN * sigma, hi + MARGIN * sigma, n_grid, dtype=torch.float64)
    flat_nodes, flat_weights = nodes.reshape(-1), weights.reshape(-1) / nodes.shape[0]
    z = (grid[:, None] - flat_nodes[None, :]) / sigma
    values = torch.exp(-0.5 * z**2) @ flat_weights / (sigma * math.sqrt(2 * math.pi))
    return grid, values, float(sigma)
