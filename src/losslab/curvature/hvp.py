"""Hessian-vector products of an objective at a point, over all or a subset of its parameters.

    op = HessianOperator(objective, at=point)          # a surface: give the point
    op = HessianOperator(model_objective)              # a network: at its own weights
    op = HessianOperator(model_objective, params="0.") # one layer: the block H[S, S]
    op.matvec(v)                                       # (n,) -> (n,) float64, H @ v

The function differentiated is the objective's pure function of one flat vector
(`Objective.value`: for a `ModelObjective` the mean loss over its evaluation data, i.e. all
of it, or the fixed seeded subset of `n_samples`); the model is never touched. Three ways to
one product, all exact up to rounding:

- "forward": forward-over-reverse, `torch.func.jvp(torch.func.grad(f), (w,), (v,))`, one
  forward and one backward pass per product, nothing kept between products;
- "reverse": reverse-over-reverse, `torch.func.vjp(torch.func.grad(f), w)` per product: the
  fallback for functions whose operations lack forward-mode rules ("forward" switches to it
  by itself when torch reports a missing rule; `method` then reads "reverse");
- "reuse" (the default, "auto"): reverse-over-reverse with the gradient graph built once
  (`autograd.grad(..., create_graph=True)`) and differentiated again for every product, as
  PyHessian does; only the second backward pass is paid per product.

Measured on W1 (MLP 64-128-128-10 on all 1797 digits, 26k parameters, 2 CPU cores, best of
20): reuse 5.3 ms, forward 11.6 ms, reverse 10.8 ms per product. Batching products with
`vmap` over the tangents did not pay on this CPU (8 to 10 ms per vector for 4 to 16 vectors,
forward-over-reverse or `is_grads_batched`), so `matmat` runs products one by one.

A parameter subset `params` ("0." a module prefix, "0.weight" a name, or a list of them)
restricts the objective to those coordinates, the others fixed at the point: the operator is
then the diagonal block H[S, S] of the full Hessian, of size n_sub.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, jvp, vjp

from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.params import ParamLayout, as_vector

METHODS = ("auto", "reuse", "forward", "reverse")


class HessianOperator:
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

    def __init__(self, objective: Objective, *, at=None, params=None, method: str = "auto"):
        if method not in METHODS:
            raise LosslabError(f"method == {method!r}, must be one of {', '.join(METHODS)}.")
        self.objective = objective
        self.method = "reuse" if method == "auto" else method
        point = resolve_point(objective, at)
        self.dtype, self.device = point.dtype, point.device
        self.point = point
        self.layout = objective.layout
        self.index, self.names, self.shapes = select(self.layout, objective.n_params, params)
        self.n = objective.n_params if self.index is None else int(self.index.numel())
        self.n_products = 0
        self._graph: tuple[Tensor, Tensor] | None = None

    # -- the function of the (sub)vector ---------------------------------------------------------

    def _function(self) -> tuple[Callable[[Tensor], Tensor], Tensor]:
        """(f, x0): f of the operator's coordinates and the point in them."""
        single = self.objective.value
        if self.index is None:
            return single, self.point
        base = self.point
        index = self.index.to(base.device)

        def restricted(sub: Tensor) -> Tensor:
            return single(base.index_put((index,), sub))

        return restricted, base[index]

    def _reuse_graph(self) -> tuple[Tensor, Tensor]:
        if self._graph is None:
            f, x0 = self._function()
            with torch.enable_grad():
                leaf = x0.detach().clone().requires_grad_(True)
                (gradient,) = torch.autograd.grad(f(leaf), leaf, create_graph=True)
            self._graph = (leaf, gradient)
        return self._graph

    # -- products --------------------------------------------------------------------------------

    def matvec(self, v: Tensor) -> Tensor:
        """H @ v for one vector v (n,); returns float64 (n,) on v's device."""
        v = torch.as_tensor(v)
        if v.shape != (self.n,):
            raise LosslabError(
                f"vector of shape {tuple(v.shape)}, the operator is {self.n}x{self.n}."
            )
        tangent = v.to(self.device, self.dtype)
        if self.method == "reuse":
            leaf, gradient = self._reuse_graph()
            if not gradient.requires_grad:  # the gradient does not depend on the point: H = 0
                product = torch.zeros_like(tangent)
            else:
                (product,) = torch.autograd.grad(
                    gradient, leaf, tangent, retain_graph=True, allow_unused=True
                )
                product = torch.zeros_like(tangent) if product is None else product
        else:
            f, x0 = self._function()
            x0 = x0.detach()
            product = None
            if self.method == "forward":
                try:
                    product = jvp(grad(f), (x0,), (tangent,))[1]
                except NotImplementedError:  # an operation without a forward-mode rule
                    self.method = "reverse"  # the fallback, for this and later products
            if product is None:
                product = vjp(grad(f), x0)[1](tangent)[0]
        self.n_products += 1
        return product.detach().to(v.device, torch.float64)

    def matmat(self, vectors: Tensor) -> Tensor:
        """H @ V for rows V (m, n) -> (m, n): products one by one (see the module docstring)."""
        return torch.stack([self.matvec(v) for v in vectors]) if len(vectors) else vectors

    def dense(self) -> Tensor:
        """The exact (n, n) matrix from n products with unit vectors (small n only)."""
        eye = torch.eye(self.n, dtype=torch.float64)
        matrix = self.matmat(eye)
        return 0.5 * (matrix + matrix.T)

    def to_full(self, vectors: Tensor) -> Tensor:
        """Rows in the operator's coordinates (m, n) -> (m, n_params), zeros off the subset."""
        if self.index is None:
            return vectors
        full = vectors.new_zeros(vectors.shape[0], self.objective.n_params)
        full[:, self.index.to(vectors.device)] = vectors
        return full

    def release(self) -> None:
        """Drop the kept gradient graph (memory of one backward pass with create_graph)."""
        self._graph = None


def hvp(objective, v, *, at=None, params=None, method: str = "forward") -> Tensor:
    """One Hessian-vector product H @ v (float64), by default forward-over-reverse."""
    return HessianOperator(objective, at=at, params=params, method=method).matvec(v)


# -- helpers ------------------------------------------------------------------------------------


def resolve_point(objective: Objective, at) -> Tensor:
    """The point (n_params,) in the objective's dtype and device."""
    layout, origin = objective.layout, objective.origin
    if at is None:
        if origin is None:
            raise LosslabError(
                f"at == None, and {objective.name!r} has no origin (own weights): give the "
                "point, e.g. at=[0.0, 0.0]."
            )
        at = origin
    point = torch.as_tensor(at) if layout is None else as_vector(layout, at)
    if point.shape != (objective.n_params,):
        raise LosslabError(
            f"at has shape {tuple(point.shape)}; the objective has {objective.n_params} "
            f"parameter(s): give one point of shape ({objective.n_params},)."
        )
    if origin is not None and origin.is_floating_point():
        point = point.to(origin.device, origin.dtype)
    else:  # a plain objective (a surface) computes in float64
        point = point.to(torch.float64)
    if not torch.isfinite(point).all():
        raise LosslabError("at contains NaN or inf: give a finite point.")
    return point.detach()


def select(
    layout: ParamLayout | None, n_params: int, params
) -> tuple[Tensor | None, tuple[str, ...] | None, tuple[tuple[int, ...], ...] | None]:
    """(index into the flat vector or None, names, shapes) of a parameter subset.

    params: None -> everything; a string -> the parameters named so or under that module
    prefix ("0" and "0." both mean module 0: "0.weight", "0.bias", not "10.weight"); a list of
    such strings -> their union, in layout order."""
    names = None if layout is None else layout.names
    shapes = None if layout is None else layout.shapes
    if params is None:
        return None, names, shapes
    if layout is None:
        raise LosslabError(
            "params selects named parameters of a network; this objective is a plain vector "
            "of parameters with no names: leave params out."
        )
    wanted = [params] if isinstance(params, str) else list(params)
    if not wanted or not all(isinstance(p, str) and p for p in wanted):
        raise LosslabError(
            f"params == {params!r}: give a parameter name or module prefix (e.g. '0.' or "
            "'0.weight'), or a list of them."
        )
    chosen = [n for n in layout.names if any(_matches(n, p) for p in wanted)]
    unmatched = [p for p in wanted if not any(_matches(n, p) for n in layout.names)]
    if unmatched:
        raise LosslabError(
            f"params {unmatched!r} match(es) no parameter; the model has {', '.join(layout.names)}."
        )
    offsets = layout.offsets()
    index = torch.cat([torch.arange(offsets[n].start, offsets[n].stop) for n in chosen])
    chosen_shapes = tuple(
        s for n, s in zip(layout.names, layout.shapes, strict=True) if n in chosen
    )
    return index, tuple(chosen), chosen_shapes


def _matches(name: str, pattern: str) -> bool:
    prefix = pattern.rstrip(".")
    return name == prefix or name.startswith(prefix + ".")
