"""The Lanczos iteration with full reorthogonalization: the engine behind eigenvalues, the
curvature map and the spectral density.

After m steps from a unit start vector q_1, Q = [q_1 .. q_m] is an orthonormal basis of the
Krylov space span(q_1, H q_1, ..., H^(m-1) q_1) and T = Q^T H Q is tridiagonal (alphas on the
diagonal, betas beside it). The eigenvalues of T (Ritz values) approximate H's extreme
eigenvalues first; the Ritz pair (theta_i, Q^T s_i) has residual ||H x - theta x|| =
beta_m |s_i[m]|, where beta_m is the norm of the part of H q_m outside the basis.

Every new vector is orthogonalized against the whole basis, twice (classical Gram-Schmidt,
"twice is enough"), so no spurious copies of converged eigenvalues appear (Paige). Vectors
and coefficients are float64 whatever the objective's dtype; memory is max_steps * n floats.
When beta_m vanishes the basis spans an invariant subspace: with `restart` a new random
vector orthogonal to the basis continues the iteration (coupling 0, so T becomes block
diagonal; this finds repeated eigenvalues), without it the iteration stops (the quadrature of
the spectral density is then exact).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

BREAKDOWN = 1e-12  # beta below this times the spectral scale seen so far: invariant subspace


@dataclass(frozen=True)
class Krylov:
    """alphas (m,), betas (m - 1,) couplings (0 after a restart), basis (m, n) float64,
    last_beta (the residual norm after the last step); n_steps = m, one product H v per step."""

    alphas: Tensor
    betas: Tensor
    basis: Tensor
    last_beta: float

    @property
    def n_steps(self) -> int:
        return int(self.alphas.numel())

    def tridiagonal(self) -> Tensor:
        return tridiagonal(self.alphas, self.betas)

    def ritz(self) -> tuple[Tensor, Tensor, Tensor]:
        """(theta ascending (m,), S (m, m) eigenvectors of T in columns, residuals (m,))."""
        theta, s = torch.linalg.eigh(self.tridiagonal())
        return theta, s, self.last_beta * s[-1].abs()


def tridiagonal(alphas: Tensor, betas: Tensor) -> Tensor:
    """The symmetric tridiagonal matrix with `alphas` on the diagonal and `betas` beside it."""
    t = torch.diag(alphas)
    if betas.numel():
        t = t + torch.diag(betas, 1) + torch.diag(betas, -1)
    return t


def lanczos(
    matvec: Callable[[Tensor], Tensor],
    start: Tensor,
    max_steps: int,
    *,
    restart: torch.Generator | None = None,
    stop: Callable[[Tensor, Tensor, float], bool] | None = None,
) -> Krylov:
    """Run up to `max_steps` steps (at most n) from `start` (n,).

    matvec: v (n,) float64 -> H v (n,) float64.
    restart: a generator for the random vector that continues after an invariant subspace is
        found; None stops there.
    stop: called after each step with (alphas, betas, beta); True ends the iteration.
    """
    n = start.numel()
    max_steps = min(max_steps, n)
    basis = torch.empty(max_steps, n, dtype=torch.float64)
    alphas: list[float] = []
    betas: list[float] = []
    q = start.to(torch.float64) / start.norm()
    scale = 0.0
    beta = 0.0
    for j in range(max_steps):
        basis[j] = q
        z = matvec(q)
        alpha = float(q @ z)
        alphas.append(alpha)
        previous = basis[: j + 1]
        for _ in range(2):  # full reorthogonalization, twice
            z = z - previous.T @ (previous @ z)
        beta = float(z.norm())
        scale = max(scale, abs(alpha), beta)
        if j + 1 == max_steps:
            break
        if stop is not None and stop(_tensor(alphas), _tensor(betas), beta):
            break
        if beta <= BREAKDOWN * scale:  # invariant subspace
            if restart is None:
                break
            z = torch.randn(n, generator=restart, dtype=torch.float64)
            for _ in range(2):
                z = z - previous.T @ (previous @ z)
            betas.append(0.0)
            q = z / z.norm()
        else:
            betas.append(beta)
            q = z / beta
    m = len(alphas)
    return Krylov(_tensor(alphas), _tensor(betas[: m - 1]), basis[:m], beta)


def _tensor(values: list[float]) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


def error_bounds(theta: Tensor, residuals: Tensor) -> Tensor:
    """A bound on |lambda - theta_i| per Ritz value: min(r_i, r_i^2 / gap_i).

    r_i is the residual norm (a true eigenvalue lies within r_i of theta_i); when theta_i is
    separated from the rest of the spectrum by gap_i, the error is at most r_i^2 / gap_i
    (Kato-Temple). gap_i is estimated from the other Ritz values, each moved toward theta_i by
    its own residual: min_j (|theta_i - theta_j| - r_j), which is conservative."""
    if theta.numel() < 2:
        return residuals.clone()
    distance = (theta[:, None] - theta[None, :]).abs() - residuals[None, :]
    distance.fill_diagonal_(float("inf"))
    gap = distance.min(dim=1).values
    refined = torch.where(gap > 0, residuals**2 / gap.clamp(min=1e-300), residuals)
    return torch.minimum(residuals, refined)


def flip_signs(vectors: Tensor) -> Tensor:
    """Rows (..., k, n) signed so that each row's largest-|.| entry is positive (sklearn's
    svd_flip); a zero row stays as it is."""
    if vectors.numel() == 0:
        return vectors
    top = vectors.abs().argmax(dim=-1, keepdim=True)  # (..., k, 1)
    signs = torch.sign(torch.gather(vectors, -1, top))
    return vectors * torch.where(signs == 0, 1.0, signs)
