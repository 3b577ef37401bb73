"""Building blocks. Each follows torch.optim's arithmetic so that composed optimizers reproduce
torch.optim trajectories to float rounding.

Shapes: params, grads, updates (B, n) with B runs in parallel; hessian (B, n, n).
Each transform's state is a named tuple (optax's `ScaleByAdamState(count, mu, nu)` style), so a
state says what it holds: `state.mu` rather than `state[1]`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from losslab.optim.base import GradientTransformation


class EmptyState(NamedTuple):
    """The state of a stateless transform (scale, the Newton direction)."""


class TraceState(NamedTuple):
    trace: Tensor  # (B, n) momentum buffer


class ScaleByAdagradState(NamedTuple):
    sum_of_squares: Tensor  # (B, n) running sum of g^2


class ScaleByRmsState(NamedTuple):
    nu: Tensor  # (B, n) running mean of g^2


class ScaleByAdamState(NamedTuple):
    count: int  # steps taken, for the bias corrections
    mu: Tensor  # (B, n) first moment
    nu: Tensor  # (B, n) second moment


class AddNoiseState(NamedTuple):
    count: int  # steps taken: the noise of step t is drawn from (seed, t)


def _no_state(params: Tensor) -> EmptyState:
    return EmptyState()


def scale(factor: float) -> GradientTransformation:
    """updates = factor * grads (the final `-lr` of every optimizer)."""

    def update(grads, state, params, **extra):
        return factor * grads, state

    return GradientTransformation(_no_state, update)


def trace(decay: float, *, nesterov: bool = False) -> GradientTransformation:
    """Heavy-ball momentum as torch.optim.SGD: buf = decay * buf + g (buf starts at 0, so the
    first step gives buf = g); Nesterov uses g + decay * buf."""

    def init(params):
        return TraceState(torch.zeros_like(params))

    def update(grads, state, params, **extra):
        buf = decay * state.trace + grads
        return (grads + decay * buf if nesterov else buf), TraceState(buf)

    return GradientTransformation(init, update)


def scale_by_adagrad(eps: float) -> GradientTransformation:
    """g / (sqrt(sum of g^2) + eps), as torch.optim.Adagrad with lr_decay = 0."""

    def init(params):
        return ScaleByAdagradState(torch.zeros_like(params))

    def update(grads, state, params, **extra):
        sum_sq = state.sum_of_squares + grads * grads
        return grads / (sum_sq.sqrt() + eps), ScaleByAdagradState(sum_sq)

    return GradientTransformation(init, update)


def scale_by_rms(alpha: float, eps: float) -> GradientTransformation:
    """g / (sqrt(running mean of g^2) + eps), as torch.optim.RMSprop (not centered)."""

    def init(params):
        return ScaleByRmsState(torch.zeros_like(params))

    def update(grads, state, params, **extra):
        square_avg = alpha * state.nu + (1 - alpha) * grads * grads
        return grads / (square_avg.sqrt() + eps), ScaleByRmsState(square_avg)

    return GradientTransformation(init, update)


def scale_by_adam(beta1: float, beta2: float, eps: float) -> GradientTransformation:
    """Bias-corrected m / (sqrt(v) + eps) with torch.optim.Adam's placement of eps:
    (m / (1 - beta1^t)) / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""

    def init(params):
        return ScaleByAdamState(0, torch.zeros_like(params), torch.zeros_like(params))

    def update(grads, state, params, **extra):
        count = state.count + 1
        m = torch.lerp(state.mu, grads, 1 - beta1)
        v = beta2 * state.nu + (1 - beta2) * grads * grads
        correction1 = 1 - beta1**count
        correction2_sqrt = (1 - beta2**count) ** 0.5
        updates = (m / correction1) / (v.sqrt() / correction2_sqrt + eps)
        return updates, ScaleByAdamState(count, m, v)

    return GradientTransformation(init, update)


def add_noise(std: float, *, seed: int) -> GradientTransformation:
    """g + std * N(0, 1). The noise at step t depends on (seed, t) only, and every run in a
    batch sees the same draw (common random numbers): a start's noisy path is the same whether
    it runs alone or in a batch, and reruns with the same seed are identical bit for bit."""

    def init(params):
        return AddNoiseState(0)

    def update(grads, state, params, **extra):
        generator = torch.Generator().manual_seed(_step_seed(seed, state.count))
        noise = torch.randn(grads.shape[-1], generator=generator, dtype=grads.dtype)
        return grads + std * noise.to(grads.device), AddNoiseState(state.count + 1)

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
