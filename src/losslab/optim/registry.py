"""Optimizers by name, and the "name:key=value,..." spec strings that the CLI and web lab use."""

from __future__ import annotations

import inspect

from losslab.errors import LosslabError
from losslab.optim import alias
from losslab.optim.base import Optimizer

OPTIMIZERS = {
    "gd": alias.gd,
    "momentum": alias.momentum,
    "nesterov": alias.nesterov,
    "newton": alias.newton,
    "sgd_noise": alias.sgd_noise,
    "adagrad": alias.adagrad,
    "rmsprop": alias.rmsprop,
    "adam": alias.adam,
}


def names() -> list[str]:
    return list(OPTIMIZERS)


def get(name: str, **hyperparameters) -> Optimizer:
    """`get("momentum", lr=0.01, beta=0.8)`: an optimizer by name."""
    factory = OPTIMIZERS.get(name)
    if factory is None:
        raise LosslabError(f"unknown optimizer {name!r}: choose from {', '.join(OPTIMIZERS)}.")
    allowed = inspect.signature(factory).parameters
    for key in hyperparameters:
        if key not in allowed:
            raise LosslabError(
                f"optimizer '{name}' has no hyperparameter {key!r}: allowed: {', '.join(allowed)}."
            )
    if "lr" not in hyperparameters and allowed["lr"].default is inspect.Parameter.empty:
        raise LosslabError(f"optimizer '{name}' needs a learning rate: give lr=...")
    return factory(**hyperparameters)


def from_spec(spec: str, *, lr: float | None = None) -> Optimizer:
    """Parse "momentum:beta=0.8,lr=0.01" (or just "momentum").

    `lr` is the shared learning rate: it applies to every optimizer whose spec does not set one,
    except Newton, whose natural step is lr=1 (set "newton:lr=0.5" to change it).
    """
    name, _, options = spec.strip().partition(":")
    name = name.strip()
    hyperparameters: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise LosslabError(
                f"cannot read {item!r} in optimizer spec {spec!r}: write name:key=value,..."
            )
        hyperparameters[key] = _number(key, value.strip(), spec)
    if "beta1" in hyperparameters or "beta2" in hyperparameters:
        hyperparameters["betas"] = (
            hyperparameters.pop("beta1", 0.9),
            hyperparameters.pop("beta2", 0.999),
        )
    if lr is not None and "lr" not in hyperparameters and name != "newton":
        hyperparameters["lr"] = lr
    return get(name, **hyperparameters)


def _number(key: str, text: str, spec: str) -> float | int:
    try:
        return int(text) if key == "seed" else float(text)
    except ValueError:
        kind = "an integer" if key == "seed" else "a number"
        raise LosslabError(
            f"{key} == {text!r} in optimizer spec {spec!r}, must be {kind}."
        ) from None
