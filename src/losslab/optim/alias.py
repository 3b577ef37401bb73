"""Named optimizers as short compositions of transforms (optax's alias.py).

Defaults follow torch.optim where it has the same optimizer; `lr` is always the first argument
and the rest are keyword-only where only some optimizers need them.
"""

from __future__ import annotations

from losslab._checks import check_fraction, check_lr, check_non_negative, check_seed
from losslab.errors import LosslabError
from losslab.optim.base import Optimizer, chain
from losslab.optim.transforms import (
    add_noise,
    newton_direction,
    scale,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
    trace,
)


def gd(lr: float) -> Optimizer:
    """Plain gradient descent: x <- x - lr * g (torch.optim.SGD)."""
    lr = check_lr(lr)
    return Optimizer("gd", scale(-lr), {"lr": lr})


def momentum(lr: float, beta: float = 0.9) -> Optimizer:
    """Heavy-ball momentum (torch.optim.SGD(momentum=beta))."""
    lr, beta = check_lr(lr), check_fraction("beta", beta)
    return Optimizer("momentum", chain(trace(beta), scale(-lr)), {"lr": lr, "beta": beta})


def nesterov(lr: float, beta: float = 0.9) -> Optimizer:
    """Nesterov momentum (torch.optim.SGD(momentum=beta, nesterov=True))."""
    lr, beta = check_lr(lr), check_fraction("beta", beta)
    transform = chain(trace(beta, nesterov=True), scale(-lr))
    return Optimizer("nesterov", transform, {"lr": lr, "beta": beta})


def newton(lr: float = 1.0, damping: float = 0.0) -> Optimizer:
    """Newton's method x <- x - lr (H + damping I)^+ g; needs the Hessian at every step."""
    lr, damping = check_lr(lr), check_non_negative("damping", damping)
    transform = chain(newton_direction(damping), scale(-lr))
    return Optimizer("newton", transform, {"lr": lr, "damping": damping})


def sgd_noise(lr: float, noise: float = 1.0, *, seed: int = 0) -> Optimizer:
    """Gradient descent on g + noise * N(0, I): a stand-in for minibatch noise, seeded."""
    lr, noise = check_lr(lr), check_non_negative("noise", noise)
    seed = check_seed(seed)
    transform = chain(add_noise(noise, seed=seed), scale(-lr))
    return Optimizer("sgd_noise", transform, {"lr": lr, "noise": noise, "seed": seed})


def adagrad(lr: float = 0.01, eps: float = 1e-10) -> Optimizer:
    """Adagrad (torch.optim.Adagrad with lr_decay=0, initial_accumulator_value=0)."""
    lr, eps = check_lr(lr), check_non_negative("eps", eps)
    return Optimizer("adagrad", chain(scale_by_adagrad(eps), scale(-lr)), {"lr": lr, "eps": eps})


def rmsprop(lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> Optimizer:
    """RMSprop (torch.optim.RMSprop, not centered, no momentum)."""
    lr, alpha = check_lr(lr), check_fraction("alpha", alpha)
    eps = check_non_negative("eps", eps)
    transform = chain(scale_by_rms(alpha, eps), scale(-lr))
    return Optimizer("rmsprop", transform, {"lr": lr, "alpha": alpha, "eps": eps})


def adam(
    lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
) -> Optimizer:
    """Adam (torch.optim.Adam, no weight decay, not amsgrad)."""
    lr, eps = check_lr(lr), check_non_negative("eps", eps)
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise LosslabError(f"betas == {betas!r}, must be a pair (beta1, beta2) in [0, 1).")
    beta1, beta2 = check_fraction("betas[0]", betas[0]), check_fraction("betas[1]", betas[1])
    transform = chain(scale_by_adam(beta1, beta2, eps), scale(-lr))
    return Optimizer("adam", transform, {"lr": lr, "betas": (beta1, beta2), "eps": eps})
