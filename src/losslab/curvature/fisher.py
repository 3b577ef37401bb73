"""The empirical Fisher of a network: F = sum_i c_i g_i g_i^T over its samples.

g_i = d loss_i / dw is sample i's loss gradient and c_i its coefficient in the objective
(`sample_losses`: value(w) = sum_i c_i loss_i; c_i = 1/N for a mean, w_i / sum w with weights).
This is the EMPIRICAL Fisher, built from the observed targets: the one optimizers (Adam's
second moment, natural-gradient approximations) and many sharpness papers use. The true
Fisher of cross-entropy and MSE takes the expectation over the model's own predictive
distribution instead, and equals the generalized Gauss-Newton matrix: kind="ggn" gives it.

One product F v per batch:
- "reuse" (the default, "auto"): the batch's per-sample gradients G (B, n) are computed once
  (`torch.func.vmap(torch.func.grad(...))` over the samples, a loop where vmap fails) and
  kept while they fit (operators.py); a product is then G^T (c * (G v)), two matrix-vector
  products. Past the memory budget products recompute as "forward" does.
- "forward": F v = J^T (c * (J v)), J = d losses / dw (B by n), by a jvp and a vjp: no
  per-sample gradients held; falls back to the double-vjp trick without forward-mode rules.
- "reverse": the same with the double-vjp trick.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.func import grad, vmap

from losslab.curvature.gauss_newton import refuse_without_outputs, sandwich
from losslab.curvature.operators import CurvatureOperator
from losslab.errors import LosslabError
from losslab.objectives.adapters import Batch, map_tensors


class FisherOperator(CurvatureOperator):
    """F (or its block F[S, S]) of a network objective at one point (see the module docstring).

    Arguments as for `HessianOperator`; the objective must be a ModelObjective whose loss has
    per-sample values (not a plain callable returning only the mean)."""

    kind = "fisher"
    label = "Fisher-vector product"

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

    def _losses(self, batch):
        """sub -> (losses (B,), coefficients (B,)) of this batch."""
        objective = self.objective
        return lambda sub: objective.sample_losses(
            objective.forward(self.embed(sub), batch.inputs), batch
        )

    def _prepare(self, batch):
        with torch.no_grad():
            _, coefficients = self._losses(batch)(self.start)
        gradients = self._per_sample_gradients(batch)
        return (gradients, coefficients.to(gradients.dtype)), gradients.nbytes

    def _apply(self, state, tangent: Tensor) -> Tensor:
        gradients, coefficients = state
        return gradients.T @ (coefficients * (gradients @ tangent))

    def _recompute(self, batch, tangent: Tensor) -> Tensor:
        def middle(losses: Tensor, coefficients: Tensor, jv: Tensor) -> Tensor:
            return coefficients * jv

        return sandwich(self, self._losses(batch), middle, tangent)

    def _per_sample_gradients(self, batch) -> Tensor:
        """(B, n): d loss_i / d(the operator's coordinates) for each sample i of the batch."""
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
            rows = []
            for i in range(len(batch.targets)):
                sample = _sample(batch, i)
                rows.append(grad(one)(x0, *sample))
            return torch.stack(rows)


def _sample(batch: Batch, index) -> Batch:
    """Sample `index` (an int: without its batch dimension) or a slice of a batch."""

    def pick(t):
        return t[index]

    weights = None if batch.weights is None else batch.weights[index]
    return Batch(map_tensors(pick, batch.inputs), batch.targets[index], weights)
