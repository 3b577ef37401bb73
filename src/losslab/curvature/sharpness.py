"""Sharpness figures people report: the top eigenvalue, the trace, and epsilon-sharpness.

epsilon-sharpness (after Keskar et al. 2017, with an L2 ball instead of their box): the worst
increase of the loss within distance epsilon of the point,

    max_{||delta|| <= epsilon} f(w + delta) - f(w),

found by projected gradient ascent: delta <- P(delta + lr * epsilon * g / ||g||), g the
gradient at w + delta, P the projection onto the ball (a rescale when ||delta|| > epsilon).
Ascent starts from epsilon times the top Hessian eigenvector (both signs: the best second-order
guess) and from the normalized gradient; the best value met on any path is returned. On a
quadratic at its minimum the answer is 0.5 * epsilon^2 * lambda_max; Keskar's relative form
(increase / (1 + f(w))) is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad_and_value

from losslab._checks import check_count, check_positive
from losslab.curvature.eigen import eigenvalues
from losslab.curvature.hvp import HessianOperator
from losslab.curvature.kinds import check_kind
from losslab.curvature.trace import trace
from losslab.results import Result
from losslab.results.kinds import check_shapes


@dataclass(frozen=True)
class EpsilonSharpness(Result):
    """increase: the worst loss increase found within the ball; relative: increase / (1 + loss);
    perturbation: (n,) the delta that achieves it (in the subset's coordinates if any)."""

    result_type = "epsilon_sharpness"

    epsilon: float
    increase: float
    relative: float
    loss: float
    perturbation: Tensor
    n_steps: int
    n_gradients: int
    objective: str = ""

    def __post_init__(self):
        check_shapes(self, {"perturbation": ("n",)})


@dataclass(frozen=True)
class Sharpness(Result):
    """The three sharpness figures at one point."""

    result_type = "sharpness"

    lambda_max: float
    trace: float
    trace_standard_error: float
    epsilon: float
    epsilon_sharpness: float
    relative_epsilon_sharpness: float
    n_products: int
    objective: str = ""
    kind: str = "hessian"

    def __post_init__(self):
        check_kind(self.kind)


def epsilon_sharpness(
    objective,
    epsilon: float = 0.01,
    *,
    at=None,
    params=None,
    n_steps: int = 20,
    lr: float = 1.0,
    seed: int = 0,
) -> EpsilonSharpness:
    """max f(w + delta) - f(w) over ||delta||_2 <= epsilon, by projected gradient ascent."""
    check_positive("epsilon", epsilon)
    check_count("n_steps", n_steps)
    check_positive("lr", lr)
    op = HessianOperator(objective, at=at, params=params)
    f, x0 = op._function()
    x0 = x0.detach()
    step = grad_and_value(lambda delta: f(x0 + delta))
    zero = torch.zeros_like(x0)
    g0, f0 = step(zero)
    loss = float(f0)
    top = eigenvalues(objective, k=1, seed=seed, at=at, params=params).vectors[0]
    top = top.to(x0.device, x0.dtype)
    starts = [epsilon * top, -epsilon * top]
    if float(g0.norm()) > 0:
        starts.append(epsilon * g0 / g0.norm())
    best, best_delta, n_gradients = -float("inf"), zero, 1
    for delta in starts:
        for _ in range(n_steps + 1):
            g, value = step(delta)
            n_gradients += 1
            if float(value) > best:
                best, best_delta = float(value), delta
            norm = g.norm()
            if float(norm) == 0:
                break
            delta = delta + lr * epsilon * g / norm
            delta = delta * min(1.0, epsilon / float(delta.norm()))
    increase = best - loss
    return EpsilonSharpness(
        epsilon=float(epsilon),
        increase=increase,
        relative=increase / (1.0 + loss),
        loss=loss,
        perturbation=best_delta.detach().to(torch.float64),
        n_steps=n_steps,
        n_gradients=n_gradients,
        objective=objective.name,
    )


def sharpness(
    objective,
    *,
    at=None,
    params=None,
    epsilon: float = 0.01,
    n_probes: int = 100,
    tol: float = 1e-4,
    seed: int = 0,
    kind: str = "hessian",
) -> Sharpness:
    """lambda_max (Lanczos to tol), tr(H) (Hutch++ with n_probes) and epsilon-sharpness.

    kind: the matrix of lambda_max and the trace ("hessian", "ggn" or "fisher");
    epsilon-sharpness is of the loss itself, whatever the kind."""
    check_kind(kind)
    top = eigenvalues(objective, k=1, tol=tol, seed=seed, at=at, params=params, kind=kind)
    estimate = trace(objective, n_probes, seed=seed, at=at, params=params, kind=kind)
    eps = epsilon_sharpness(objective, epsilon, at=at, params=params, seed=seed)
    return Sharpness(
        lambda_max=float(top.values[0]),
        trace=estimate.estimate,
        trace_standard_error=estimate.standard_error,
        epsilon=float(epsilon),
        epsilon_sharpness=eps.increase,
        relative_epsilon_sharpness=eps.relative,
        n_products=top.n_products + estimate.n_products,
        objective=objective.name,
        kind=kind,
    )
