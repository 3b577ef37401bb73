"""Optimizers as pure (init, update) transforms, composable like optax."""

from losslab.optim.alias import adagrad, adam, gd, momentum, nesterov, newton, rmsprop, sgd_noise
from losslab.optim.base import GradientTransformation, Optimizer, chain
from losslab.optim.registry import from_spec, get, names

__all__ = [
    "GradientTransformation",
    "Optimizer",
    "adagrad",
    "adam",
    "chain",
    "from_spec",
    "gd",
    "get",
    "momentum",
    "names",
    "nesterov",
    "newton",
    "rmsprop",
    "sgd_noise",
]
