"""BatchNorm for bn="recompute" on the general path: layers written as formulas.

A private copy of the model has its BatchNorm layers replaced:
- `FormulaBatchNorm`, in the copy that evaluates: eval-mode BatchNorm by formula, so that
  gradients flow through the statistics it is given (the recomputed ones);
- `RecordingBatchNorm`, in the copy that computes statistics: train-mode BatchNorm that
  records (mean, unbiased var) of its input, as running_mean/running_var hold after one
  full-batch train-mode pass with momentum=None.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from losslab.errors import LosslabError

BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, BATCHNORMS) for m in model.modules())


def check_recomputable(model: nn.Module) -> None:
    """bn="recompute" handles BatchNorm1d/2d/3d with running statistics, nothing else."""
    odd = sorted(
        {
            type(m).__name__
            for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._NormBase)
            and (type(m) not in BATCHNORMS or not m.track_running_stats)
        }
    )
    if odd:
        raise LosslabError(
            f"bn='recompute' handles BatchNorm1d/2d/3d with running statistics; this "
            f"model also has {', '.join(odd)}. Use bn='eval' for it."
        )


def _normalize(x: Tensor, mean: Tensor, var: Tensor, bn: nn.Module) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over dim 1 of x (N, C, ...)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = torch.rsqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    y = (x - mean.reshape(shape)) * scale.reshape(shape)
    return y if bn.bias is None else y + bn.bias.reshape(shape)


class FormulaBatchNorm(nn.Module):
    """Eval-mode BatchNorm by formula, differentiable in the statistics it is given."""

    def __init__(self, bn: nn.Module):
        super().__init__()
        self.eps = bn.eps
        self.weight, self.bias = bn.weight, bn.bias
        self.register_buffer("running_mean", bn.running_mean)
        self.register_buffer("running_var", bn.running_var)
        self.register_buffer("num_batches_tracked", bn.num_batches_tracked)

    def forward(self, x: Tensor) -> Tensor:
        return _normalize(x, self.running_mean, self.running_var, self)


class RecordingBatchNorm(FormulaBatchNorm):
    """Train-mode BatchNorm that records (mean, unbiased var) of its input under its name."""

    def __init__(self, bn: nn.Module, name: str, records: dict[str, tuple[Tensor, Tensor]]):
        super().__init__(bn)
        self._name, self._records = name, records

    def forward(self, x: Tensor) -> Tensor:
        dims = [0, *range(2, x.ndim)]
        var, mean = torch.var_mean(x, dim=dims, correction=0)
        n = x.numel() // x.shape[1]
        self._records[self._name] = (mean, var * (n / max(n - 1, 1)))
        return _normalize(x, mean, var, self)


def replace_batchnorms(private: nn.Module, make: Callable[[str, nn.Module], nn.Module]) -> None:
    """Swap every BatchNorm with running statistics in `private` for make(name, bn)."""
    for name, module in list(private.named_modules()):
        if type(module) in BATCHNORMS and module.track_running_stats:
            parent_name, _, child = name.rpartition(".")
            parent = private.get_submodule(parent_name) if parent_name else private
            setattr(parent, child, make(name, module))
