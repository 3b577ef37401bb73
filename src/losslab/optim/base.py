"""Optimizers as pure transforms, after optax: `init(params) -> state` and
`update(grads, state, params, *, hessian=None, step=...) -> (updates, new_state)`.

A transform never changes its inputs and returns a new state. A state is a named tuple per
transform (`ScaleByAdamState(count, mu, nu)`, see transforms.py) whose tensors are (B, n_params),
and `chain`'s state is the plain tuple of its parts' states. Every tensor carries a batch of runs
in its leading dimension (params, grads: (n_starts, n_params)), so one update moves many runs at
once and each row evolves exactly as it would alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from torch import Tensor

State = tuple[Any, ...]  # a transform's named tuple, or chain's tuple of them
InitFn = Callable[[Tensor], State]
UpdateFn = Callable[..., tuple[Tensor, State]]


class GradientTransformation(NamedTuple):
    """A pair of pure functions; `needs_hessian` asks the caller for Hessians in `update`."""

    init: InitFn
    update: UpdateFn
    needs_hessian: bool = False


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transforms in order, each to the previous one's output (optax.chain)."""

    def init(params: Tensor) -> State:
        return tuple(t.init(params) for t in transforms)

    def update(grads: Tensor, state: State, params: Tensor, **extra: Any):
        new_state = []
        for transform, inner in zip(transforms, state, strict=True):
            grads, inner = transform.update(grads, inner, params, **extra)
            new_state.append(inner)
        return grads, tuple(new_state)

    return GradientTransformation(init, update, any(t.needs_hessian for t in transforms))


@dataclass(frozen=True)
class Optimizer:
    """A named transform with the hyperparameters it was built from (for labels and files)."""

    name: str
    transform: GradientTransformation = field(repr=False)
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_hessian(self) -> bool:
        return self.transform.needs_hessian

    def init(self, params: Tensor) -> State:
        return self.transform.init(params)

    def update(self, grads: Tensor, state: State, params: Tensor, **extra: Any):
        return self.transform.update(grads, state, params, **extra)

    @property
    def label(self) -> str:
        """`momentum(lr=0.01, beta=0.9)`: what a legend or a file should say."""
        args = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in self.hyperparameters.items()
        )
        return f"{self.name}({args})"
