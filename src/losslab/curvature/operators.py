"""What the Hessian, the Gauss-Newton and the Fisher operators share: a matrix-free symmetric
operator of an objective at one point, over all or a subset of its parameters.

    op.matvec(v)      (n,) -> (n,) float64            op @ v, op @ V  (V: (n, m) -> (n, m))
    op.matmat(V)      (n, m) -> (n, m), column by column
    op.to_scipy()     a scipy.sparse.linalg.LinearOperator of float64 (eigsh, cg, ...)
    op.dense()        the (n, n) matrix from n products (small n only)

A network objective (a `ModelObjective`) is a sum over its batches,
value(w) = sum_b batch_loss(forward(w, x_b), b), and so is each of the three matrices: a
product streams over `objective.batches()` and adds the batches' products (in float64), so
memory is one batch's, whatever the data size. What a kind computes per batch:

    _prepare(batch) -> state      graphs or matrices from which products are cheap
    _apply(state, v) -> (n,)      one product from the state
    _recompute(batch, v) -> (n,)  one product without keeping anything (default: both above)

States are kept between products ("reuse") while they fit: always for the first batch (it is
in memory during a product anyway), and for more batches while the bytes they hold stay within
KEEP_FRACTION of the available memory (`losslab.budget`, which LOSSLAB_MEMORY_BYTES
overrides). Past that, all are dropped and every product recomputes batch by batch.

Every product runs under `twice_differentiable()` (attention as its math kernel: the fused
kernels have no second derivatives on CPU), and any error torch or the model raises inside one
becomes one LosslabError line naming the product and the batch (counted from 1).

A parameter subset `params` ("0." a module prefix, "0.weight" a name, or a list of them)
restricts everything to those coordinates, the others fixed at the point: the operator is the
diagonal block M[S, S] of the full matrix, of size n_sub.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from losslab import budget
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.objectives.kernels import twice_differentiable
from losslab.objectives.model import ModelObjective
from losslab.params import ParamLayout, as_vector

METHODS = ("auto", "reuse", "forward", "reverse")
KEEP_FRACTION = 0.25  # of the available memory: the most that kept per-batch states may hold


class CurvatureOperator:
    """A symmetric n x n matrix of `objective` at one point, known through its products.

    objective: any Objective for the Hessian; a ModelObjective for the GGN and the Fisher.
    at: the point (n_params,) or a parameter dict; default `objective.origin` (a network's
        own weights). Required for objectives without an origin (surfaces).
    params: None (all parameters), a module prefix / parameter name, or a list of them.
    method: "auto", "reuse", "forward" or "reverse" (what each means: the kind's docstring).

    Attributes: kind, n (the operator's size), names/shapes (the subset's layout, None for a
    plain vector), index (the subset's positions in the flat vector, None for all),
    n_products (products computed so far), method.
    """

    kind = ""
    label = "product"  # in error messages: "<label> failed on batch 3: ..."
    methods = METHODS  # what `method` may be for this kind

    def __init__(self, objective: Objective, *, at=None, params=None, method: str = "auto"):
        if method not in self.methods:
            allowed = ", ".join(self.methods)
            raise LosslabError(f"method == {method!r}, must be one of {allowed}.")
        self.objective = objective
        self.method = method
        point = resolve_point(objective, at)
        self.dtype, self.device = point.dtype, point.device
        self.point = point
        self.layout = objective.layout
        self.index, self.names, self.shapes = select(self.layout, objective.n_params, params)
        self.n = objective.n_params if self.index is None else int(self.index.numel())
        self.n_products = 0
        self.batched = isinstance(objective, ModelObjective)
        self._keep = method not in ("forward", "reverse")  # keep per-batch states
        self._kept: list | None = None  # the states of every batch, once they all fit

    # -- coordinates -----------------------------------------------------------------------------

    @property
    def start(self) -> Tensor:
        """The point in the operator's coordinates (n,)."""
        return self.point if self.index is None else self.point[self.index.to(self.device)]

    def embed(self, sub: Tensor) -> Tensor:
        """The full point (n_params,) with the subset's coordinates set to `sub` (n,)."""
        if self.index is None:
            return sub
        return self.point.index_put((self.index.to(self.device),), sub)

    def to_full(self, vectors: Tensor) -> Tensor:
        """Rows in the operator's coordinates (m, n) -> (m, n_params), zeros off the subset."""
        if self.index is None:
            return vectors
        full = vectors.new_zeros(vectors.shape[0], self.objective.n_params)
        full[:, self.index.to(vectors.device)] = vectors
        return full

    # -- products --------------------------------------------------------------------------------

    def matvec(self, v) -> Tensor:
        """M @ v for one vector v (n,); returns float64 (n,) on v's device."""
        v = torch.as_tensor(v)
        if v.shape != (self.n,):
            raise LosslabError(
                f"vector of shape {tuple(v.shape)}, the operator is {self.n}x{self.n}."
            )
        tangent = v.to(self.device, self.dtype)
        with twice_differentiable(), torch.enable_grad():
            if self.batched:
                product = self._streamed(tangent)
            else:
                with self.failing():
                    product = self._single(tangent)
        self.n_products += 1
        return product.detach().to(v.device, torch.float64)

    def matmat(self, vectors) -> Tensor:
        """M @ V for V (n, m) -> (n, m) float64, one product per column."""
        vectors = torch.as_tensor(vectors)
        if vectors.ndim != 2 or vectors.shape[0] != self.n:
            raise LosslabError(
                f"matrix of shape {tuple(vectors.shape)}, the operator is {self.n}x{self.n}: "
                f"give ({self.n}, m)."
            )
        if vectors.shape[1] == 0:
            return vectors.to(torch.float64)
        return torch.stack([self.matvec(column) for column in vectors.T], dim=1)

    def __matmul__(self, other) -> Tensor:
        other = torch.as_tensor(other)
        return self.matvec(other) if other.ndim == 1 else self.matmat(other)

    def dense(self) -> Tensor:
        """The exact (n, n) matrix from n products with unit vectors (small n only)."""
        matrix = self.matmat(torch.eye(self.n, dtype=torch.float64))
        return 0.5 * (matrix + matrix.T)

    def to_scipy(self):
        """A scipy.sparse.linalg.LinearOperator (n, n) of float64 on numpy arrays (CPU)."""
        from scipy.sparse.linalg import LinearOperator

        def matvec(x) -> np.ndarray:
            column = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
            return self.matvec(torch.from_numpy(column)).numpy()

        def matmat(x) -> np.ndarray:
            return self.matmat(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy()

        return LinearOperator(
            (self.n, self.n),
            matvec=matvec,
            rmatvec=matvec,  # symmetric
            matmat=matmat,
            rmatmat=matmat,
            dtype=np.float64,
        )

    def release(self) -> None:
        """Drop the kept per-batch states (graphs, gradient matrices)."""
        self._kept = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, n={self.n}, method={self.method!r}, "
            f"n_products={self.n_products})"
        )

    # -- what a kind defines ----------------------------------------------------------------------

    def _single(self, tangent: Tensor) -> Tensor:
        """The product for an objective without batches (a surface)."""
        raise NotImplementedError

    def _prepare(self, batch):
        """(state, bytes it holds) of one batch."""
        raise NotImplementedError

    def _apply(self, state, tangent: Tensor) -> Tensor:
        raise NotImplementedError

    def _recompute(self, batch, tangent: Tensor) -> Tensor:
        return self._apply(self._prepare(batch)[0], tangent)

    # -- streaming over the batches ---------------------------------------------------------------

    def _streamed(self, tangent: Tensor) -> Tensor:
        """sum over batches of the batch's product (n,) float64."""
        total = torch.zeros(self.n, dtype=torch.float64, device=self.device)
        if self._kept is not None:
            for i, state in enumerate(self._kept, start=1):
                with self.failing(i):
                    total += self._apply(state, tangent).to(torch.float64)
            return total
        states: list | None = [] if self._keep else None
        held, limit = 0, KEEP_FRACTION * budget.available_memory()
        for i, batch in enumerate(self.objective.batches(), start=1):
            with self.failing(i):
                if states is None:
                    total += self._recompute(batch, tangent).to(torch.float64)
                    continue
                state, size = self._prepare(batch)
                total += self._apply(state, tangent).to(torch.float64)
                held += size
                if i == 1 or held <= limit:
                    states.append(state)
                else:  # too much to keep: recompute every batch of every product from here on
                    states, self._keep = None, False
        self._kept = states
        return total

    @contextlib.contextmanager
    def failing(self, batch: int | None = None) -> Iterator[None]:
        """Any error inside becomes one LosslabError line naming the product and the batch."""
        try:
            yield
        except LosslabError:
            raise
        except Exception as error:  # torch or the user's model: one line, not a traceback
            where = "" if batch is None else f" on batch {batch}"
            raise LosslabError(f"{self.label} failed{where}: {first_line(error)}") from error


def first_line(error: BaseException) -> str:
    """'NotImplementedError: <the first non-empty line of its message>'."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    name = type(error).__name__
    return f"{name}: {lines[0]}" if lines else name


@contextlib.contextmanager
def measured() -> Iterator[list[int]]:
    """Bytes of the tensors autograd saves while inside (the graph a state keeps): [bytes]."""
    seen: set[int] = set()
    total = [0]

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total[0] += storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield total


def grad_or_zeros(outputs: Tensor, inputs: Tensor, cotangent: Tensor) -> Tensor:
    """d<outputs, cotangent>/d inputs, keeping the graph; zeros where inputs do not matter."""
    if not outputs.requires_grad:
        return torch.zeros_like(inputs)
    (result,) = torch.autograd.grad(
        outputs, inputs, cotangent, retain_graph=True, allow_unused=True
    )
    return torch.zeros_like(inputs) if result is None else result


# -- the point and the subset ---------------------------------------------------------------------


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
