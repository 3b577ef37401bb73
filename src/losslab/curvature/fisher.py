"""The empirical Fisher of a network: F = sum_i c_i g_i g_i^T over its samples.

g_i = d loss_i / dw is sample i's loss gradient and c_i its coefficient in the objective
(`sample_losses`: value(w) = sum_i c_i loss_i; c_i = 1/N for a mean, w_i / sum w with weights).
This is the EMPIRICAL Fisher, built from the observed targets: the one optimizers (Adam's
second moment, natural-gradient approximations) and many sharpness papers use. The true
Fisher of cross-entropy and MSE takes the expectation over the model's own predictive
distribution instead, and equals the generalized Gauss-Newton matrix: kind="ggn" gives it.

With J = d losses / dw (B by n) in a batch, F_b = J^T diag(c) J: the Gauss-Newton sandwich
(gauss_newton.py) with the per-sample losses as outputs and diag(c) in the middle. One
product F v per batch, four ways:

- "reuse" (the default, "auto"): the double-vjp trick on a kept graph of the losses, three
  backward passes per product, no per-sample gradient held;
- "per_sample": the batch's per-sample gradients G (B, n), computed once by
  `torch.func.vmap(torch.func.grad(...))` over the samples (a loop where vmap has no batching
  rule) and kept; a product is G^T (c * (G v)). It pays only when B x n is small (a parameter
  block): on W1 (1797 x 26,122 float32, 188 MB) a product reads G twice and is slower;
- "forward": J v by a jvp, J^T (c * J v) by a vjp, nothing kept; falls back to the double-vjp
  trick where an operation has no forward-mode rule; "reverse": that trick rebuilt each time.

Kept states beyond the memory budget (operators.py) are dropped for "forward"'s way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, vmap

from losslab.curvature.gauss_newton import (
    Function,
    apply_sandwich,
    keep_sandwich,
    refuse_without_outputs,
    sandwich,
)
from losslab.curvature.operators import METHODS, CurvatureOperator
from losslab.errors import LosslabError
from losslab.objectives.adapters import Batch, map_tensors


class FisherOperator(CurvatureOperator):
    """F (or its block F[S, S]) of a network objective at one point (see the module docstring).

    Arguments as for `HessianOperator` (method also "per_sample"); the objective must be a
    ModelObjective whose loss has per-sample values (not a plain callable returning only the
    mean)."""

    kind = "fisher"
    label = "Fisher-vector product"
    methods = (*METHODS, "per_sample")

    def __init__(self, objective, *, at=None, params=None, method: str = "auto"):
        super().__init__(objective, at=at, params=params, method=method)
        refuse_without_outputs(self)
        self.method = "reuse" if method == "auto" else method
        self._refuse_without_sample_losses()

    def _refuse_without_sample_losses(self) -> None:
        """sample_losses' own one-line refusal (a plain callable loss), before any work."""
        first = next(iter(self.objective.batches()), None)
        if first is not None:
            one = _sample(first, slice(0, 1))
            with torch.no_grad(), self.failing(1):
                self.objective.sample_losses(self.objective.forward(self.point, one.inputs), one)

    def _losses(self, batch) -> Function:
        """sub -> (losses (B,), coefficients (B,)) of this batch."""
        objective = self.objective

        def losses(sub: Tensor) -> tuple[Tensor, Tensor]:
            outputs = objective.forward(self.embed(sub), batch.inputs)
            return objective.sample_losses(outputs, batch)

        return losses

    @staticmethod
    def _middle(losses: Tensor, coefficients: Tensor) -> Callable[[Tensor], Tensor]:
        return lambda jv: coefficients * jv  # diag(c)

    def _prepare(self, batch):
        if self.method != "per_sample":
            return keep_sandwich(self, self._losses(batch), self._middle)
        with torch.no_grad():
            _, coefficients = self._losses(batch)(self.start)
        gradients = self.per_sample_gradients(batch)
        return (gradients, coefficients.to(gradients.dtype)), gradients.nbytes

    def _apply(self, state, tangent: Tensor) -> Tensor:
        if self.method != "per_sample":
            return apply_sandwich(state, tangent)
        gradients, coefficients = state
        return gradients.T @ (coefficients * (gradients @ tangent))

    def _recompute(self, batch, tangent: Tensor) -> Tensor:
        return sandwich(self, self._losses(batch), self._middle, tangent)

    def per_sample_gradients(self, batch: Batch) -> Tensor:
        """(B, n): d loss_i / d(the operator's coordinates) for each sample i of the batch,
        by vmap over the samples, or a loop where an operation has no batching rule."""
        objective = self.objective

        def one(sub: Tensor, inputs, targets: Tensor, weights) -> Tensor:
            inputs = map_tensors(lambda t: t.unsqueeze(0), inputs)
            weights = None if weights is None else weights.unsqueeze(0)
            single = Batch(inputs, targets.unsqueeze(0), weights)
            return objective.sample_losses(objective.forward(self.embed(sub), inputs), single)[0][0]

        x0 = self.start.detach()
        dims = (None, 0, 0, None if batch.weights is None else 0)
        try:
            return vmap(grad(one), in_dims=dims)(x0, *batch)
        except LosslabError:
            raise
        except Exception:  # an operation without a batching rule (RNNs, in-place ops): a loop
            rows = [grad(one)(x0, *_sample(batch, i)) for i in range(len(batch.targets))]
            return torch.stack(rows)


def _sample(batch: Batch, index) -> Batch:
    """Sample `index` (an int: without its batch dimension) or a slice of a batch."""

    def pick(t):
        return t[index]

    weights = None if batch.weights is None else batch.weights[index]
    return Batch(map_tensors(pick, batch.inputs), batch.targets[index], weights)
