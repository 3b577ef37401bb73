"""Parameters of a model as one flat vector, and back.

A network objective is a function of a vector of `n_params` numbers, like a surface. The
`ParamLayout` of a model says which slice of that vector is which named parameter, in
`named_parameters()` order, so that directions, trajectories and Hessian eigenvectors can be
stored as plain vectors and shown to the user as dicts keyed like `named_parameters()`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError

ParamDict = dict[str, Tensor]


@dataclass(frozen=True)
class ParamLayout:
    """Names and shapes of a model's trainable parameters, in `named_parameters()` order."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, model: nn.Module) -> ParamLayout:
        named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise LosslabError("the model has no trainable parameters.")
        return cls(tuple(n for n, _ in named), tuple(tuple(p.shape) for _, p in named))

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(shape) for shape in self.shapes)

    @property
    def n_params(self) -> int:
        return sum(self.sizes)

    def offsets(self) -> dict[str, slice]:
        """name -> the slice of the flat vector that holds it."""
        out, start = {}, 0
        for name, size in zip(self.names, self.sizes, strict=True):
            out[name] = slice(start, start + size)
            start += size
        return out

    def flatten(self, params: Mapping[str, Tensor]) -> Tensor:
        """A dict keyed like `named_parameters()` -> (..., n_params); batch dims are kept.

        Every tensor must have the parameter's shape, optionally after the same leading batch
        dims, e.g. {"0.weight": (B, 128, 64), ...} -> (B, n_params).
        """
        missing = [n for n in self.names if n not in params]
        extra = [n for n in params if n not in self.names]
        if missing or extra:
            raise LosslabError(
                f"parameter dict does not match the model: missing {missing or 'none'}, "
                f"unexpected {extra or 'none'}; keys must be those of named_parameters()."
            )
        batch = None
        pieces = []
        for name, shape in zip(self.names, self.shapes, strict=True):
            value = torch.as_tensor(params[name])
            lead = tuple(value.shape[: value.ndim - len(shape)])
            if tuple(value.shape[value.ndim - len(shape) :]) != shape or value.ndim < len(shape):
                raise LosslabError(
                    f"parameter '{name}' has shape {tuple(value.shape)}, the model's is {shape}."
                )
            if batch is not None and lead != batch:
                raise LosslabError(
                    f"parameter '{name}' has batch dims {lead}, the others have {batch}."
                )
            batch = lead
            pieces.append(value.reshape(*lead, -1))
        return torch.cat(pieces, dim=-1)

    def unflatten(self, vector: Tensor) -> ParamDict:
        """(..., n_params) -> {name: (..., *shape)}; views into `vector`, no copies."""
        if vector.shape[-1:] != (self.n_params,):
            raise LosslabError(
                f"parameter vector of shape {tuple(vector.shape)} does not fit the model: "
                f"the last dimension must be n_params == {self.n_params}."
            )
        lead = vector.shape[:-1]
        return {
            name: vector[..., part].reshape(*lead, *shape)
            for (name, part), shape in zip(self.offsets().items(), self.shapes, strict=True)
        }


def model_vector(model: nn.Module) -> Tensor:
    """The model's current trainable parameters as one detached flat vector (a copy)."""
    layout = ParamLayout.of(model)
    named = dict(model.named_parameters())
    return layout.flatten({n: named[n].detach() for n in layout.names}).clone()


def as_vector(layout: ParamLayout, params: Tensor | Mapping[str, Tensor]) -> Tensor:
    """A flat vector (or batch of them) from a vector, a parameter dict or a list of dicts."""
    if isinstance(params, Mapping):
        return layout.flatten(params)
    if isinstance(params, list | tuple) and params and isinstance(params[0], Mapping):
        return torch.stack([layout.flatten(p) for p in params])  # (P, n_params)
    params = torch.as_tensor(params)
    if params.shape[-1:] != (layout.n_params,):
        raise LosslabError(
            f"parameters of shape {tuple(params.shape)} do not fit the model: "
            f"the last dimension must be n_params == {layout.n_params}."
        )
    return params
