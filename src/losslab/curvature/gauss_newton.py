"""The generalized Gauss-Newton matrix of a network: G = sum_b J_b^T H_b J_b.

For a batch b, J_b = d forward(w, x_b) / dw (outputs (B, ...) by parameters) and H_b the
Hessian of batch_loss in the outputs. G is the Hessian without its residual term
sum_i dL/dz_i * d^2 z_i/dw^2: positive semi-definite for convex losses (cross-entropy, MSE),
equal to the Hessian when the outputs are linear in the weights, and the true Fisher of
cross-entropy and MSE (so kind="ggn" is also "the Fisher" of those; kind="fisher" is the
empirical one). One product G v per batch, three ways:

- "reuse" (the default, "auto"): the double-vjp trick on a kept graph. The outputs z, the
  pullback J^T u with u a dummy cotangent (create_graph: J^T u is linear in u) and the loss
  gradient in the outputs are built once; a product is then three backward passes:
  J v = d<J^T u, v>/du, H J v = d<dL/dz, J v>/dz, J^T (H J v). No forward-mode rules needed.
- "forward": J v by forward mode (`torch.func.jvp` of the outputs), H J v by reverse over
  reverse in the outputs, J^T by `torch.func.vjp`; nothing kept. Falls back to the reverse
  trick by itself where an operation has no forward-mode rule (`method` then reads "reverse").
- "reverse": the double-vjp trick rebuilt for every product.

The same sandwich J^T M J v (`keep_sandwich`, `apply_sandwich`, `sandwich`) makes the
empirical Fisher's products (fisher.py), with the per-sample losses as outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import jvp, vjp

from losslab.curvature.operators import CurvatureOperator, grad_or_zeros, measured
from losslab.errors import LosslabError

# (outputs z, aux) of the operator's coordinates, and (z, aux) -> the middle M as jv -> M jv
Function = Callable[[Tensor], tuple[Tensor, Tensor]]
Middle = Callable[[Tensor, Tensor], Callable[[Tensor], Tensor]]


class GGNOperator(CurvatureOperator):
    """G (or its block G[S, S]) of a network objective at one point (see the module docstring).

    Arguments as for `HessianOperator`; the objective must be a ModelObjective (a model, its
    loss and data): the GGN is made from the model's outputs."""

    kind = "ggn"
    label = "GGN-vector product"

    def __init__(self, objective, *, at=None, params=None, method: str = "auto"):
        super().__init__(objective, at=at, params=params, method=method)
        refuse_without_outputs(self)
        self.method = "reuse" if method == "auto" else method

    def _outputs(self, batch) -> Function:
        """sub -> (outputs (B, ...), nothing): the sandwich's function for this batch."""
        objective = self.objective
        return lambda sub: (objective.forward(self.embed(sub), batch.inputs), sub.new_zeros(()))

    def _middle(self, batch) -> Middle:
        """H, the Hessian of batch_loss in the outputs, as jv -> H jv (its graph kept)."""
        objective = self.objective

        def middle(outputs: Tensor, _: Tensor) -> Callable[[Tensor], Tensor]:
            free = outputs.detach().requires_grad_(True)
            loss = objective.batch_loss(free, batch)
            (gradient,) = torch.autograd.grad(loss, free, create_graph=True)
            return lambda jv: grad_or_zeros(gradient, free, jv)

        return middle

    def _prepare(self, batch):
        return keep_sandwich(self, self._outputs(batch), self._middle(batch))

    def _apply(self, state, tangent: Tensor) -> Tensor:
        return apply_sandwich(state, tangent)

    def _recompute(self, batch, tangent: Tensor) -> Tensor:
        return sandwich(self, self._outputs(batch), self._middle(batch), tangent)


def keep_sandwich(operator: CurvatureOperator, f: Function, middle: Middle):
    """(state, bytes): the graph of (z, aux) = f(x0) and of the pullback J^T u, kept so that
    `apply_sandwich` gives J^T M J v by three backward passes (the double-vjp trick)."""
    with measured() as size:
        leaf = operator.start.detach().clone().requires_grad_(True)
        outputs, aux = f(leaf)
        dual, pulled = _pullback(outputs, leaf)
        apply_middle = middle(outputs.detach(), aux.detach())
    return (leaf, outputs, dual, pulled, apply_middle), size[0]


def apply_sandwich(state, tangent: Tensor) -> Tensor:
    """J^T M J v from a kept state: J v = d<J^T u, v>/du, then M, then J^T."""
    leaf, outputs, dual, pulled, apply_middle = state
    jv = grad_or_zeros(pulled, dual, tangent)  # J v, the outputs' shape
    return grad_or_zeros(outputs, leaf, apply_middle(jv))


def sandwich(operator: CurvatureOperator, f: Function, middle: Middle, tangent: Tensor) -> Tensor:
    """J^T M J v for (z, aux) = f(x0), J = dz/dx0, nothing kept.

    Forward mode for J v unless operator.method is "reverse" (set so, for this and later
    products, when an operation has no forward-mode rule); else the double-vjp trick."""
    x0 = operator.start.detach()
    if operator.method != "reverse":
        try:
            outputs, jv, aux = jvp(f, (x0,), (tangent,), has_aux=True)
            outputs, pull, aux = vjp(f, x0, has_aux=True)
            return pull(middle(outputs.detach(), aux.detach())(jv))[0]
        except NotImplementedError:  # an operation without a forward-mode rule
            operator.method = "reverse"
    state, _ = keep_sandwich(operator, f, middle)
    return apply_sandwich(state, tangent)


def _pullback(outputs: Tensor, leaf: Tensor) -> tuple[Tensor, Tensor]:
    """(u, J^T u) for a dummy cotangent u of the outputs' shape, J^T u differentiable in u."""
    dual = torch.zeros_like(outputs, requires_grad=True)
    if not outputs.requires_grad:
        return dual, torch.zeros_like(leaf)
    (pulled,) = torch.autograd.grad(outputs, leaf, dual, create_graph=True, allow_unused=True)
    return dual, torch.zeros_like(leaf) if pulled is None else pulled


def refuse_without_outputs(operator: CurvatureOperator) -> None:
    """The GGN and the Fisher are made from a network's outputs: refuse a plain function."""
    if not operator.batched:
        name = operator.objective.name
        raise LosslabError(
            f"kind={operator.kind!r} needs a network objective (a ModelObjective: model, loss "
            f"and data), whose outputs it differentiates; {name!r} is a plain function of its "
            "parameters: use kind='hessian'."
        )
