"""Building blocks. Each follows torch.optim's arithmetic so that composed optimizers reproduce
torch.optim trajectories to float rounding.

Shapes: params, grads, updates (B, n) with B runs in parallel; hessian (B, n, n).
"""

from __future__ import annotations

import torch
from torch import Tensor

from losslab.optim.base import GradientTransformation


def _no_state(params: Tensor) -> tuple:
    return ()


def scale(factor: float) -> GradientTransformation:
    """updates = factor * grads (the final `-lr` of every optimizer)."""

    def update(grads, state, params, **extra):
        return factor * grads, state

    return GradientTransformation(_no_state, update)


def trace(decay: float, *, nesterov: bool = False) -> GradientTransformation:
    """Heavy-ball momentum as torch.optim.SGD: buf = decay * buf + g (buf starts at 0, so the
    first step gives buf = g); Nesterov uses g + decay * buf."""

    def init(params):
        return (torch.zeros_like(params),)

    def update(grads, state, params, **extra):
        (buf,) = state
        buf = decay * buf + grads
        return (grads + decay * buf if nesterov else buf), (buf,)

    return GradientTransformation(init, update)


def scale_by_adagrad(eps: float) -> GradientTransformation:
    """g / (sqrt(sum of g^2) + eps), as torch.optim.Adagrad with lr_decay = 0."""

    def init(params):
        return (torch.zeros_like(params),)

    def update(grads, state, params, **extra):
        (sum_sq,) = state
        sum_sq = sum_sq + grads * grads
        return grads / (sum_sq.sqrt() + eps), (sum_sq,)

    return GradientTransformation(init, update)


def scale_by_rms(alpha: float, eps: float) -> GradientTransformation:
    """g / (sqrt(running mean of g^2) + eps), as torch.optim.RMSprop (not centered)."""

    def init(params):
        return (torch.zeros_like(params),)

    def update(grads, state, params, **extra):
        (square_avg,) = state
        square_avg = alpha * square_avg + (1 - alpha) * grads * grads
        return grads / (square_avg.sqrt() + eps), (square_avg,)

    return GradientTransformation(init, update)


def scale_by_adam(beta1: float, beta2: float, eps: float) -> GradientTransformation:
    """Bias-corrected m / (sqrt(v) + eps) with torch.optim.Adam's placement of eps:
    (m / (1 - beta1^t)) / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""

    def init(params):
        return (0, torch.zeros_like(params), torch.zeros_like(params))

    def update(grads, state, params, **extra):
        count, m, v = state
        count += 1
        m = torch.lerp(m, grads, 1 - beta1)
        v = beta2 * v + (1 - beta2) * grads * grads
        correction1 = 1 - beta1**count
        correction2_sqrt = (1 - beta2**count) ** 0.5
        return (m / correction1) / (v.sqrt() / correction2_sqrt + eps), (count, m, v)

    return GradientTransformation(init, update)


def add_noise(std: float, *, seed: int) -> GradientTransformation:
    """g + std * N(0, 1). The noise at step t depends on (seed, t) only, and every run in a
    batch sees the same draw (common random numbers): a start's noisy path is the same whether
    it runs alone or in a batch, and reruns with the same seed are identical bit for bit."""

    def init(params):
        return (0,)

    def update(grads, state, params, **extra):
        (count,) = state
        generator = torch.Generator().manual_seed(_step_seed(seed, count))
        noise = torch.randn(grads.shape[-1], generator=generator, dtype=grads.dtype)
        return grads + std * noise.to(grads.device), (count + 1,)

    return GradientTransformation(init, update)


def _step_seed(seed: int, step: int) -> int:
    # A distinct, reproducible 63-bit seed per (seed, step); the constant is a large odd prime.
    return (seed * 1_000_000_007 + step) % (2**63 - 1)


def newton_direction(damping: float) -> GradientTransformation:
    """(H + damping I)^+ g: the Newton step. The pseudo-inverse (via eigh) keeps a singular
    Hessian (a flat direction, a degenerate saddle) from producing inf; Newton is attracted to
    saddles and maxima as much as to minima, which the lessons want to show."""

    def update(grads, state, params, *, hessian: Tensor, **extra):
        n = grads.shape[-1]
        eye = torch.eye(n, dtype=hessian.dtype, device=hessian.device)
        damped = hessian + damping * eye
        step = torch.linalg.pinv(damped, hermitian=True) @ grads.unsqueeze(-1)
        return step.squeeze(-1), state

    return GradientTransformation(_no_state, update, needs_hessian=True)
