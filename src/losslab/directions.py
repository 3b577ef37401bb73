"""Directions in parameter space: the axes of a landscape slice through a network.

A landscape of an n-parameter objective is drawn on a plane (or line) through an origin:
`origin + a * d0 + b * d1`. This module makes the directions `d0, d1`:

- `random`: Gaussian directions with filter normalization (Li et al. 2018, "Visualizing the
  Loss Landscape of Neural Nets"), so that a unit step changes every filter by its own scale
  and landscapes of differently scaled networks are comparable.
- `pca`: the top principal directions of a recorded training trajectory relative to its final
  point (Li et al. 2018, section 7), orthonormal, with deterministic signs.
- `toward` / `plane`: the line from one model to another (Goodfellow et al. 2015) and the plane
  through three models.
- `custom`: any directions the user gives.
- the sharpest directions (top Hessian eigenvectors) need curvature, a layer above: they are
  `losslab.curvature.hessian_directions`, which returns a `Directions` too.

Every function returns a `Directions`: a sequence of parameter dicts keyed like
`named_parameters()` (what a user looks at), backed by one `(k, n_params)` float64 matrix
(what the landscape computes with). Randomness uses a local `torch.Generator`; the global RNG
is never touched and the same seed gives the same directions bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from losslab._checks import check_count, check_seed
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.params import ParamDict, ParamLayout, model_vector
from losslab.results import Result

NORMALIZATIONS = ("filter", "layer", "none")
IGNORES = ("biasbn", None)
SHAPES = tuple[tuple[int, ...], ...]  # a layout's shapes, as a file holds them
EPS = 1e-10  # Li et al.'s guard in d / (||d|| + eps) * ||w||
PCA_BLOCK = 65_536  # columns of the trajectory handled at a time: bounds PCA memory to T x block


@dataclass(frozen=True, eq=False)
class Directions(Result, Sequence[ParamDict]):
    """k directions in the parameter space of one model.

    vectors: (k, n_params) float64, one direction per row, in `layout` order.
    Indexing gives a parameter dict {name: tensor of the parameter's shape} (a copy);
    `origin` is a suggested origin (n_params,) or None (use the objective's own parameters).
    A registered result: `save("d.json")` (or ".h5") and `ll.load_result` round-trip it exactly.
    """

    result_type = "directions"

    vectors: Tensor
    layout: ParamLayout
    kind: str
    seed: int | None = None
    normalization: str | None = None
    ignore: str | None = None
    explained_variance: tuple[float, ...] | None = None
    origin: Tensor | None = None

    def __post_init__(self):
        vectors = self.vectors
        if vectors.ndim != 2 or vectors.shape[0] < 1 or vectors.shape[1] != self.layout.n_params:
            raise LosslabError(
                f"direction vectors of shape {tuple(vectors.shape)} do not fit the model: "
                f"expected (k, n_params) with k >= 1 and n_params == {self.layout.n_params}."
            )
        if self.origin is not None and tuple(self.origin.shape) != (self.layout.n_params,):
            raise LosslabError(
                f"origin of shape {tuple(self.origin.shape)} does not fit the model: "
                f"expected ({self.layout.n_params},)."
            )

    def to_fields(self) -> dict[str, Any]:
        fields = super().to_fields()
        layout = fields.pop("layout")
        return {**fields, "names": layout.names, "shapes": layout.shapes}

    @classmethod
    def field_kinds(cls) -> dict[str, tuple[Any, bool]]:
        kinds = dict(super().field_kinds())
        del kinds["layout"]  # a file holds the layout as names and shapes
        return {**kinds, "names": (tuple[str, ...], True), "shapes": (SHAPES, True)}

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Directions:
        names, shapes = fields.pop("names"), fields.pop("shapes")
        layout = ParamLayout(tuple(names), tuple(tuple(s) for s in shapes))
        return super().from_fields({**fields, "layout": layout})

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return self.layout.unflatten(self.vectors[index].clone())

    def __iter__(self) -> Iterator[ParamDict]:
        return (self[i] for i in range(len(self)))

    @property
    def n_params(self) -> int:
        return self.layout.n_params

    def describe(self) -> dict[str, Any]:
        """Plain JSON metadata: how these directions were made (not the vectors)."""
        return {
            "kind": self.kind,
            "n_directions": len(self),
            "n_params": self.n_params,
            "seed": self.seed,
            "normalization": self.normalization,
            "ignore": self.ignore,
            "explained_variance": (
                None if self.explained_variance is None else list(self.explained_variance)
            ),
            "has_origin": self.origin is not None,
        }

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={value!r}"
            for name, value in [
                ("seed", self.seed),
                ("normalization", self.normalization),
                ("ignore", self.ignore),
                ("explained_variance", self.explained_variance),
            ]
            if value is not None
        )
        return f"Directions(kind={self.kind!r}, k={len(self)}, n_params={self.n_params}{extra})"


# -- random, filter-normalized ------------------------------------------------------------------


def random(
    model_or_objective,
    n: int = 2,
    *,
    normalization: str = "filter",
    ignore: str | None = "biasbn",
    seed: int = 0,
) -> Directions:
    """`n` Gaussian directions, scaled to the weights as in Li et al. 2018.

    The weights `w` are the model's parameters (or `objective.origin`). Every direction is
    drawn as one (n_params,) float64 standard normal vector from `torch.Generator` seeded with
    `seed` (direction i is the i-th draw), then, parameter by parameter:

    - parameters with more than one dimension (conv kernels, Linear weights), by
      `normalization`:
        "filter": each filter -- the slice `d[i]` along the first dimension, i.e. a conv
            output channel or one Linear output neuron's row -- becomes
            `d[i] / (||d[i]|| + 1e-10) * ||w[i]||` (the reference code's formula);
        "layer": the whole tensor becomes `d / ||d|| * ||w||`;
        "none": left as drawn.
    - one-dimensional parameters (biases, BatchNorm/LayerNorm scales and shifts) and scalars:
        ignore="biasbn": zeroed, so the slice never moves them (Li et al.'s default);
        ignore=None with "filter" or "layer": set to a copy of the weights, as the reference
            code's `normalize_directions_for_weights` does (`d.copy_(w)`), so moving by `a`
            along the direction scales those parameters by (1 + a);
        ignore=None with "none": left as drawn.

    Returns float64 vectors whatever the model's dtype, and `origin=None` (the landscape then
    starts from the objective's own parameters).
    """
    check_count("n", n)
    if normalization not in NORMALIZATIONS:
        raise LosslabError(
            f"normalization == {normalization!r}, must be one of {', '.join(NORMALIZATIONS)}."
        )
    if ignore not in IGNORES:
        raise LosslabError(f"ignore == {ignore!r}, must be 'biasbn' or None.")
    check_seed(seed)
    layout, weights = _layout_and_vector(model_or_objective, "model_or_objective")
    weights = weights.detach().to("cpu", torch.float64)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    drawn = torch.randn(n, layout.n_params, generator=generator, dtype=torch.float64)
    vectors = torch.stack(
        [_normalize(d, weights, layout, normalization, ignore) for d in drawn.unbind(0)]
    )
    return Directions(vectors, layout, "random", seed, normalization, ignore)


def _normalize(
    direction: Tensor, weights: Tensor, layout: ParamLayout, normalization: str, ignore
) -> Tensor:
    """One (n_params,) direction scaled parameter by parameter; returns a new vector."""
    out = direction.clone()
    d_parts, w_parts = layout.unflatten(out), layout.unflatten(weights)
    for name, shape in zip(layout.names, layout.shapes, strict=True):
        d, w = d_parts[name], w_parts[name]  # views into `out` and `weights`
        if len(shape) <= 1:
            if ignore == "biasbn":
                d.zero_()
            elif normalization != "none":
                d.copy_(w)
        elif normalization == "filter":
            d_rows, w_rows = d.reshape(shape[0], -1), w.reshape(shape[0], -1)
            scale = w_rows.norm(dim=1) / (d_rows.norm(dim=1) + EPS)
            d.mul_(scale.reshape(-1, *[1] * (len(shape) - 1)))
        elif normalization == "layer":
            d.mul_(w.norm() / (d.norm() + EPS))
    return out


# -- PCA of a trajectory ------------------------------------------------------------------------


def pca(trajectory, n: int = 2, *, layout: ParamLayout | None = None, center: bool = True):
    """The top `n` principal directions of a trajectory, relative to its final point.

    trajectory: (T, n_params) parameter vectors in visiting order, or an object with such a
        `.params` (a recorded training run; its `.layout` is used when it has one).
    Following Li et al. 2018 (their code runs scikit-learn's PCA): the matrix
    M = [w_0 - w_final, ..., w_{T-2} - w_final] (the final point's zero row is left out) is
    centred (`center=True`, as sklearn's PCA does) and its top right singular vectors are the
    directions. `center=False` uses the displacements from the final point as they are.

    Directions are unit vectors, orthonormal, signed so that each one's largest-|.| entry is
    positive (sklearn's `svd_flip` convention); `explained_variance` holds the ratios
    lambda_i / sum(lambda) of the (centred) matrix; `origin` is the final point.

    Cost: the T x T Gram matrix M M^T is accumulated in float64 over blocks of columns, so
    memory is O(T * block + k * n_params) and n_params in the millions is fine.
    """
    check_count("n", n)
    params = trajectory.params if hasattr(trajectory, "params") else trajectory
    if layout is None and isinstance(getattr(trajectory, "layout", None), ParamLayout):
        layout = trajectory.layout  # (a tensor's .layout is torch.strided: not ours)
    params = torch.as_tensor(params).detach()
    if params.ndim != 2:
        raise LosslabError(
            f"trajectory of shape {tuple(params.shape)}: PCA needs (T, n_params) points of one "
            f"run; for a batch of runs pick one (trajectory.run(i))."
        )
    rows_needed = n + 2 if center else n + 1
    if params.shape[0] < rows_needed:
        raise LosslabError(
            f"trajectory has {params.shape[0]} points: {n} {'centred ' if center else ''}PCA "
            f"direction(s) need at least {rows_needed}; record more steps or ask for fewer."
        )
    if not torch.isfinite(params).all():
        raise LosslabError("trajectory contains NaN or inf: PCA needs finite points.")
    n_params = params.shape[1]
    layout = flat_layout(n_params) if layout is None else layout
    if layout.n_params != n_params:
        raise LosslabError(
            f"trajectory has {n_params} parameters per point, the layout has {layout.n_params}."
        )

    final = params[-1].to("cpu", torch.float64)

    def block(cols: slice) -> Tensor:  # (T - 1, width) rows of M, centred if asked
        part = params[:-1, cols].to("cpu", torch.float64) - final[cols]
        return part - part.mean(dim=0) if center else part

    blocks = [slice(s, min(s + PCA_BLOCK, n_params)) for s in range(0, n_params, PCA_BLOCK)]
    gram = sum(block(c) @ block(c).T for c in blocks)  # (T - 1, T - 1)
    eigenvalues, eigenvectors = torch.linalg.eigh(gram)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    total = float(eigenvalues.clamp(min=0).sum())
    floor = total * gram.shape[0] * torch.finfo(torch.float64).eps * 10
    rank = int((eigenvalues > floor).sum())
    if rank < n:
        raise LosslabError(
            f"the trajectory spans only {rank} direction(s) around its "
            f"{'mean' if center else 'final point'}; pca(n == {n}) needs {n}: ask for n <= "
            f"{rank} or use other directions."
        )
    u, s = eigenvectors[:, :n], eigenvalues[:n].sqrt()
    # Right singular vectors v_i = M^T u_i / s_i, block by block.
    vectors = torch.cat([(u.T @ block(c)) / s[:, None] for c in blocks], dim=1)
    top = vectors.abs().argmax(dim=1)
    signs = torch.sign(vectors[torch.arange(n), top])
    vectors = vectors * signs[:, None]
    ratios = tuple(float(v) / total for v in eigenvalues[:n])
    return Directions(vectors, layout, "pca", explained_variance=ratios, origin=final)


# -- directions between models ------------------------------------------------------------------


def toward(model_a, model_b) -> Directions:
    """One direction b - a, origin a: coordinate 0 is model_a, 1 is model_b (Goodfellow 2015).

    Models, parameter dicts or flat vectors; computed in float64 so a + 1 * (b - a) == b.
    """
    layout, (a, b) = _matching(model_a=model_a, model_b=model_b)
    if torch.equal(a, b):
        raise LosslabError("model_a and model_b have the same parameters: there is no line.")
    return Directions((b - a)[None], layout, "toward", origin=a)


def plane(model_a, model_b, model_c) -> Directions:
    """Directions b - a and c - a, origin a: (0, 0) is a, (1, 0) is b and (0, 1) is c."""
    layout, (a, b, c) = _matching(model_a=model_a, model_b=model_b, model_c=model_c)
    if torch.linalg.matrix_rank(torch.stack([b - a, c - a])) < 2:
        raise LosslabError(
            "model_a, model_b and model_c lie on one line (b - a and c - a are parallel): "
            "they span no plane; use toward() for a line."
        )
    return Directions(torch.stack([b - a, c - a]), layout, "plane", origin=a)


def custom(dicts, layout_or_model, *, origin=None, kind: str = "custom") -> Directions:
    """Directions the user made: a sequence of parameter dicts (or flat vectors).

    layout_or_model: a ParamLayout, a model, or an objective with `.layout`.
    origin: optional suggested origin, a parameter dict or vector.
    """
    layout = _layout_of(layout_or_model)
    if isinstance(dicts, Mapping) or (isinstance(dicts, Tensor | np.ndarray) and dicts.ndim == 1):
        dicts = [dicts]  # one direction
    vectors = []
    for i, entry in enumerate(dicts):
        vector = _as_vector(layout, entry, f"direction {i}")
        vectors.append(vector)
    if not vectors:
        raise LosslabError("custom() got no directions: give one or two parameter dicts.")
    if origin is not None:
        origin = _as_vector(layout, origin, "origin")
    return Directions(torch.stack(vectors), layout, kind, origin=origin)


# -- helpers ------------------------------------------------------------------------------------


def flat_layout(n_params: int) -> ParamLayout:
    """A layout with one flat parameter, for plain vectors (e.g. a surface's points)."""
    return ParamLayout(("params",), ((n_params,),))


def _dict_layout(params: Mapping[str, Tensor]) -> ParamLayout:
    if not params:
        raise LosslabError("empty parameter dict: give the dict of named_parameters().")
    return ParamLayout(
        tuple(params), tuple(tuple(torch.as_tensor(v).shape) for v in params.values())
    )


def _has_own_weights(source) -> bool:
    """An objective with named parameters and a point of its own (a network's weights)."""
    return isinstance(source, Objective) and source.layout is not None and source.origin is not None


def _layout_of(source) -> ParamLayout:
    if isinstance(source, ParamLayout):
        return source
    if isinstance(source, nn.Module):
        return ParamLayout.of(source)
    if isinstance(source, Objective) and source.layout is not None:
        return source.layout
    if isinstance(source, Mapping):
        return _dict_layout(source)
    raise LosslabError(
        f"cannot tell the parameter layout from a {type(source).__name__}: give a ParamLayout, "
        f"a model, an objective with .layout, or a parameter dict."
    )


def _layout_and_vector(source, what: str) -> tuple[ParamLayout, Tensor]:
    """(layout, float vector) of a model, an objective with .layout/.origin, or a dict."""
    if isinstance(source, nn.Module):
        return ParamLayout.of(source), model_vector(source)
    if _has_own_weights(source):
        return source.layout, torch.as_tensor(source.origin).detach().reshape(-1)
    if isinstance(source, Mapping):
        layout = _dict_layout(source)
        return layout, layout.flatten({k: torch.as_tensor(v).detach() for k, v in source.items()})
    raise LosslabError(
        f"{what} is a {type(source).__name__}: give a model (nn.Module), a parameter dict, "
        f"or an objective with .layout and .origin."
    )


def _as_vector(layout: ParamLayout, entry, what: str) -> Tensor:
    """A float64 (n_params,) vector from a model, a dict or a vector that fits `layout`."""
    try:
        vector = _vector_in(layout, entry)
    except LosslabError as error:
        raise LosslabError(f"{what} does not match the layout: {error}") from None
    if not torch.isfinite(vector).all():
        raise LosslabError(f"{what} contains NaN or inf.")
    return vector


def _vector_in(layout: ParamLayout, entry) -> Tensor:
    if isinstance(entry, nn.Module):
        named = {n: p.detach() for n, p in entry.named_parameters() if p.requires_grad}
        entry = named
    elif _has_own_weights(entry):
        entry = entry.origin
    if isinstance(entry, Mapping):
        vector = layout.flatten({k: torch.as_tensor(v).detach() for k, v in entry.items()})
    else:
        vector = torch.as_tensor(entry).detach()
        if vector.shape != (layout.n_params,):
            raise LosslabError(
                f"a vector of shape {tuple(vector.shape)} does not fit: expected "
                f"({layout.n_params},)."
            )
    return vector.to("cpu", torch.float64)


def _matching(**sources) -> tuple[ParamLayout, list[Tensor]]:
    """One shared layout and float64 vectors for models/dicts/vectors that must match."""
    reference = None
    for name, source in sources.items():
        if isinstance(source, nn.Module | Mapping | ParamLayout) or (
            isinstance(source, Objective) and source.layout is not None
        ):
            reference = (name, _layout_of(source))
            break
    if reference is None:  # plain vectors: a flat layout of their length
        first = torch.as_tensor(next(iter(sources.values())))
        reference = (next(iter(sources)), flat_layout(first.shape[-1] if first.ndim else 1))
    ref_name, layout = reference
    vectors = []
    for name, source in sources.items():
        try:
            vector = _vector_in(layout, source)
        except LosslabError as error:
            raise LosslabError(f"{name} does not match {ref_name}: {error}") from None
        if not torch.isfinite(vector).all():
            raise LosslabError(f"{name} contains NaN or inf.")
        vectors.append(vector)
    return layout, vectors


__all__ = [
    "Directions",
    "custom",
    "pca",
    "plane",
    "random",
    "toward",
]
