"""Hessian-vector products of an objective at a point, over all or a subset of its parameters.

    op = HessianOperator(objective, at=point)          # a surface: give the point
    op = HessianOperator(model_objective)              # a network: at its own weights
    op = HessianOperator(model_objective, params="0.") # one layer: the block H[S, S]
    op.matvec(v)                                       # (n,) -> (n,) float64, H @ v

The function differentiated is the objective's pure function of one flat vector. A surface's
is `Objective.value`; a network's is the sum over its batches of
batch_loss(forward(w, x_b), b) (the same mean loss as `value`, see operators.py), and each
product is the sum of the batches' products, so memory is one batch's. The model is never
touched. Three ways to one product, all exact up to rounding:

- "forward": forward-over-reverse, `torch.func.jvp(torch.func.grad(f), (w,), (v,))`, one
  forward and one backward pass per product, nothing kept between products;
- "reverse": reverse-over-reverse, `torch.func.vjp(torch.func.grad(f), w)` per product: the
  fallback for functions whose operations lack forward-mode rules ("forward" switches to it
  by itself when torch reports a missing rule; `method` then reads "reverse");
- "reuse" (the default, "auto"): reverse-over-reverse with the gradient graph built once
  (`autograd.grad(..., create_graph=True)`) and differentiated again for every product, as
  PyHessian does; only the second backward pass is paid per product. A network keeps one
  graph per batch while they fit (operators.py); past that each product rebuilds them.

Measured on W1 (MLP 64-128-128-10 on all 1797 digits, 26k parameters, 2 CPU cores, best of
20): reuse 5.3 ms, forward 11.6 ms, reverse 10.8 ms per product. Batching products with
`vmap` over the tangents did not pay on this CPU (8 to 10 ms per vector for 4 to 16 vectors,
forward-over-reverse or `is_grads_batched`), so `matmat` runs products one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, jvp, vjp

from losslab.curvature.operators import (
    CurvatureOperator,
    grad_or_zeros,
    measured,
    resolve_point,
    select,
)
from losslab.errors import LosslabError
from losslab.objectives.base import Objective

__all__ = ["HessianOperator", "hvp", "resolve_point", "select"]


class HessianOperator(CurvatureOperator):
    """H (or its block H[S, S]) of `objective` at one point, as a matrix-free operator.

    objective: any Objective (a surface, a ModelObjective, ...).
    at: the point (n_params,) or a parameter dict; default `objective.origin` (a network's
        own weights). Required for objectives without an origin (surfaces).
    params: None (all parameters), a module prefix / parameter name, or a list of them.
    method: "auto" (= "reuse"), "reuse", "forward" or "reverse" (see the module docstring).

    Attributes: n (size of the operator), names/shapes (the subset's layout, None for a
    plain vector), index (the subset's positions in the flat vector, None for all),
    n_products (products computed so far).
    """

    kind = "hessian"
    label = "Hessian-vector product"

    def __init__(self, objective: Objective, *, at=None, params=None, method: str = "auto"):
        super().__init__(objective, at=at, params=params, method=method)
        self.method = "reuse" if method == "auto" else method
        self._graph: tuple[Tensor, Tensor] | None = None  # a surface's kept gradient graph

    # -- the functions differentiated ------------------------------------------------------------

    def _function(self) -> tuple[Callable[[Tensor], Tensor], Tensor]:
        """(f, x0): the objective's value as a function of the operator's coordinates."""
        value = self.objective.value
        return (lambda sub: value(self.embed(sub))), self.start

    def _batch_function(self, batch) -> Callable[[Tensor], Tensor]:
        """This batch's term of the loss as a function of the operator's coordinates."""
        objective = self.objective
        return lambda sub: objective.batch_loss(
            objective.forward(self.embed(sub), batch.inputs), batch
        )

    # -- products --------------------------------------------------------------------------------

    def _single(self, tangent: Tensor) -> Tensor:
        if self.method == "reuse":
            if self._graph is None:
                self._graph = _gradient_graph(*self._function())
            return grad_or_zeros(self._graph[1], self._graph[0], tangent)
        return self._by_transforms(*self._function(), tangent)

    def _prepare(self, batch):
        with measured() as size:
            state = _gradient_graph(self._batch_function(batch), self.start)
        return state, size[0]

    def _apply(self, state, tangent: Tensor) -> Tensor:
        leaf, gradient = state
        return grad_or_zeros(gradient, leaf, tangent)

    def _recompute(self, batch, tangent: Tensor) -> Tensor:
        if self.method == "reuse":  # states that did not fit: rebuilt for each product
            return self._apply(_gradient_graph(self._batch_function(batch), self.start), tangent)
        return self._by_transforms(self._batch_function(batch), self.start, tangent)

    def _by_transforms(self, f, x0: Tensor, tangent: Tensor) -> Tensor:
        """Forward-over-reverse, or reverse-over-reverse (also the fallback), by torch.func."""
        x0 = x0.detach()
        if self.method == "forward":
            try:
                return jvp(grad(f), (x0,), (tangent,))[1]
            except NotImplementedError:  # an operation without a forward-mode rule
                self.method = "reverse"  # the fallback, for this and later products
        return vjp(grad(f), x0)[1](tangent)[0]

    def release(self) -> None:
        """Drop the kept gradient graphs (memory of one backward pass with create_graph)."""
        super().release()
        self._graph = None


def hvp(objective, v, *, at=None, params=None, method: str = "forward") -> Tensor:
    """One Hessian-vector product H @ v (float64), by default forward-over-reverse."""
    return HessianOperator(objective, at=at, params=params, method=method).matvec(v)


def _gradient_graph(f: Callable[[Tensor], Tensor], x0: Tensor) -> tuple[Tensor, Tensor]:
    """(leaf, gradient of f at the leaf) with the graph kept for differentiating again."""
    leaf = x0.detach().clone().requires_grad_(True)
    value = f(leaf)
    if not value.requires_grad:  # f does not depend on the point: H = 0
        return leaf, torch.zeros_like(leaf)
    (gradient,) = torch.autograd.grad(value, leaf, create_graph=True, allow_unused=True)
    gradient = torch.zeros_like(leaf) if gradient is None else gradient
    if not gradient.requires_grad or not _reaches(gradient, leaf):
        _check_constant(f, x0, gradient.detach())
    return leaf, gradient


def _reaches(tensor: Tensor, leaf: Tensor) -> bool:
    """Whether `tensor`'s autograd graph leads back to `leaf` (a walk over its nodes)."""
    stack, seen = [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if getattr(node, "variable", None) is leaf:  # the leaf's AccumulateGrad
            return True
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False


def _check_constant(f: Callable[[Tensor], Tensor], x0: Tensor, gradient: Tensor) -> None:
    """A gradient whose graph does not lead back to the point means H = 0 (f is linear in the
    point), or a backward that autograd cannot differentiate again (a custom
    autograd.Function whose backward is marked once_differentiable: torch then drops the
    second derivative without a word, torch.autograd.functional.hessian included). The
    gradient at a nearby point tells them apart: equal for a linear f."""
    generator = torch.Generator().manual_seed(0)
    step = torch.randn(x0.shape, generator=generator, dtype=torch.float64)
    moved = (x0 + (1e-2 * (1 + x0.abs()) * step.to(x0)).detach()).requires_grad_(True)
    (other,) = torch.autograd.grad(f(moved), moved, allow_unused=True)
    other = torch.zeros_like(moved) if other is None else other
    scale = float(gradient.abs().max()) + float(other.abs().max())
    if float((other - gradient).abs().max()) > 1e-4 * scale + 1e-30:
        raise LosslabError(
            "the gradient cannot be differentiated again: an operation's backward is not "
            "differentiable (a custom autograd.Function with once_differentiable?), and "
            "Hessian-vector products need second derivatives."
        )
