"""The one idea: an objective is a scalar function of a parameter vector, evaluated in batches.

Optimizers, curvature, landscapes and plots take an `Objective`, so the same code serves a
2-parameter test surface and a network with its data. This class declares the whole contract
the core relies on, each part with a default that is right for a plain function of `n_params`
numbers; the core calls these and never probes an objective with hasattr/getattr.

    __call__(params)                 (..., n_params) -> (...)            the one abstract method
    value(point)                     (n_params,) -> ()                   the torch.func unit
    evaluate(points)                 (P, n_params) -> {metric: (P,)}     named metrics
    evaluate_slice(origin, dirs, c)  metrics at origin + c @ dirs        a fast path may override
    value_and_grad, hessian          batched derivatives (torch.func by default)
    metrics, origin, layout, bounds, minima, log_scale, chunk_size, describe()

Subclasses override what they can do better (a surface's row-wise gradient, a network's
streamed evaluation and its own origin and layout).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor
from torch.func import grad_and_value, hessian, vmap

from losslab.params import ParamLayout


class Objective(ABC):
    """A function of `n_params` parameters: `(..., n_params) -> (...)`.

    The plain attributes below are defaults a subclass (or its instances) may replace.
    """

    name: str
    n_params: int
    # The value range spans decades: plots colour it on a log scale.
    log_scale: bool = False
    # Points per call for a caller that cuts a grid into chunks; None: the caller chooses.
    chunk_size: int | None = None
    # Names of what `evaluate` returns, "loss" first.
    metrics: tuple[str, ...] = ("loss",)
    # The point this objective is naturally seen from (a model's own weights), or None.
    origin: Tensor | None = None
    # How the flat vector splits into named parameters (a model's), or None.
    layout: ParamLayout | None = None

    @abstractmethod
    def __call__(self, params: Tensor) -> Tensor:
        """Values at a batch of parameter vectors. params: (..., n_params) -> (...)."""

    # -- values -----------------------------------------------------------------------------

    def value(self, point: Tensor) -> Tensor:
        """The value at one point (n_params,) -> 0-d tensor; differentiable, so torch.func
        transforms (grad, hessian, jvp) batch over it."""
        return self(point)

    def evaluate(self, points: Tensor) -> dict[str, Tensor]:
        """Every metric at (P, n_params) points: {metric: (P,)}, without gradients."""
        with torch.no_grad():
            return {"loss": self(points)}

    def evaluate_slice(self, origin: Tensor, directions: Tensor, coords: Tensor) -> dict:
        """Metrics at origin + coords @ directions, equal to `evaluate` of those points.

        origin: (n_params,), directions: (k, n_params), coords: (P, k) -> {metric: (P,)}.
        """
        points = origin.to(directions.dtype) + coords.to(directions.dtype) @ directions
        return self.evaluate(points)

    # -- derivatives ------------------------------------------------------------------------

    def value_and_grad(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """params: (B, n_params) -> values (B,), gradients (B, n_params)."""
        grads, values = vmap(grad_and_value(self.value))(params)
        return values, grads

    def hessian(self, params: Tensor) -> Tensor:
        """params: (B, n_params) -> Hessians (B, n_params, n_params)."""
        return vmap(hessian(self.value))(params)

    # -- where it lives ---------------------------------------------------------------------

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

    def describe(self) -> dict[str, Any]:
        """Plain JSON data identifying what this objective computes (stored with results and
        compared when a landscape file is resumed)."""
        return {
            "type": type(self).__qualname__,
            "name": str(self.name),
            "n_params": int(self.n_params),
            "log_scale": bool(self.log_scale),
        }
