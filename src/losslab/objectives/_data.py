"""Evaluation data for a network objective: read once, checked, on the model's device.

`materialize` turns (X, y) tensors or arrays, or a DataLoader of (inputs, targets) batches,
into two tensors; `fixed_subset` picks the seeded subset of `n_samples` samples.
`check_real` refuses complex parameters or data, which a real loss landscape cannot hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError


def materialize(data, label: str, dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
    """(X, y) tensors on the model's device: X floating in the model's dtype, integer
    targets as int64, float targets in the model's dtype. Checked for length and finiteness.

    X: (N, ...), y: (N, ...); a DataLoader is read once and its batches concatenated."""
    if isinstance(data, torch.utils.data.DataLoader):
        xs, ys = [], []
        for batch in data:
            if not isinstance(batch, Sequence) or len(batch) != 2:
                raise LosslabError(
                    f"{label}: the DataLoader yields {type(batch).__name__} batches; "
                    "ModelObjective needs (inputs, targets) pairs."
                )
            xs.append(torch.as_tensor(batch[0]))
            ys.append(torch.as_tensor(batch[1]))
        if not xs:
            raise LosslabError(f"{label}: the DataLoader is empty.")
        x, y = torch.cat(xs), torch.cat(ys)
    elif isinstance(data, Sequence) and len(data) == 2:
        x, y = (torch.as_tensor(part) for part in data)
    else:
        raise LosslabError(
            f"{label} is a {type(data).__name__}; give (X, y) tensors or a DataLoader of "
            "(inputs, targets) batches."
        )
    if x.ndim == 0 or y.ndim == 0:
        raise LosslabError(f"{label}: X and y need a leading sample dimension.")
    if x.shape[0] != y.shape[0]:
        raise LosslabError(
            f"{label}: X has {x.shape[0]} samples but y has {y.shape[0]}; they must match."
        )
    if x.shape[0] == 0:
        raise LosslabError(f"{label} is empty: give at least one sample.")
    check_real(x, y, label=label)
    for part, tensor in (("X", x), ("y", y)):
        if tensor.is_floating_point() or tensor.is_complex():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise LosslabError(
                    f"{label}: {part} contains {bad} NaN or infinite value(s); clean or drop "
                    "those samples first."
                )
    x = x.to(device, dtype) if x.is_floating_point() else x.to(device)
    if y.is_floating_point() or y.dtype == torch.bool:
        y = y.to(device, dtype)
    else:
        y = y.to(device, torch.int64)
    return x, y


def check_real(*tensors: Tensor, model: nn.Module | None = None, label: str = "data") -> None:
    """Refuse a model with complex trainable parameters, or complex X or y (the `tensors`):
    every landscape, path and Hessian here is over real parameter vectors, and casting would
    silently drop the imaginary parts."""
    if model is not None:
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad and p.is_complex()]
        if named:
            (name, param), more = named[0], len(named) - 1
            raise LosslabError(
                f"the model's parameter '{name}'"
                + (f" (and {more} more)" if more else "")
                + f" is {_dtype(param)}: losslab needs real parameters; keep the real and "
                "imaginary parts as two real parameters and combine them in forward "
                "(torch.complex(re, im))."
            )
    for part, tensor in zip(("X", "y"), tensors, strict=False):
        if tensor.is_complex():
            raise LosslabError(
                f"{label}: {part} is {_dtype(tensor)}; losses over complex numbers are not "
                "supported: give real inputs and targets."
            )


def _dtype(tensor: Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def fixed_subset(x: Tensor, y: Tensor, n_samples: int, seed: int) -> tuple[Tensor, Tensor]:
    """The same `n_samples` samples for the same seed (in data order): a seeded permutation's
    first n_samples indices, sorted."""
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(x.shape[0], generator=generator)[:n_samples].sort().values
    index = index.to(x.device)
    return x[index], y[index]
