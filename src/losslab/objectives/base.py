"""The one idea: an objective is a scalar function of a parameter vector, evaluated in batches.

Optimizers, curvature and plots take an `Objective`, so the same code serves a 2-parameter test
surface and (later) a network with its data. Subclasses implement `__call__` on a batch; the
derivatives default to torch.func transforms of that call and may be overridden where a
cheaper route exists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor
from torch.func import grad_and_value, hessian, vmap


class Objective(ABC):
    """A function of `n_params` parameters: `(..., n_params) -> (...)`."""

    name: str
    n_params: int

    @abstractmethod
    def __call__(self, params: Tensor) -> Tensor:
        """Values at a batch of parameter vectors. params: (..., n_params) -> (...)."""

    def _single(self, point: Tensor) -> Tensor:
        # One point (n_params,) -> scalar; the unit that torch.func transforms batch over.
        return self(point)

    def value_and_grad(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """params: (B, n_params) -> values (B,), gradients (B, n_params)."""
        grads, values = vmap(grad_and_value(self._single))(params)
        return values, grads

    def hessian(self, params: Tensor) -> Tensor:
        """params: (B, n_params) -> Hessians (B, n_params, n_params)."""
        return vmap(hessian(self._single))(params)

    @property
    def bounds(self) -> Tensor | None:
        """A plotting window (n_params, 2) of [low, high] per parameter, or None if unknown."""
        return None

    @property
    def minima(self) -> Tensor:
        """Known minima (k, n_params); empty when none are known."""
        return torch.empty(0, self.n_params, dtype=torch.float64)

    @property
    def divergence_bound(self) -> float:
        """A run whose parameters leave this box (max |coordinate|) is marked diverged."""
        if self.bounds is None:
            return float("inf")
        return 100.0 * float(self.bounds.abs().max())
