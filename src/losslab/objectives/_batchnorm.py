"""BatchNorm for bn="recompute" on the general path: layers written as formulas.

A private copy of the model has its BatchNorm layers replaced:
- `FormulaBatchNorm`, in the copy that evaluates: eval-mode BatchNorm by formula, so that
  gradients flow through the statistics it is given (the recomputed ones);
- `RecordingBatchNorm`, in the copy that computes statistics from train data of ONE batch:
  train-mode BatchNorm that records (mean, unbiased var) of its input, as running_mean/
  running_var hold after one full-batch train-mode pass with momentum=None;
- `StagedBatchNorm`, in the copy of `BatchStatistics`, which gives the same statistics from
  train data in SEVERAL batches (one truncated pass per BatchNorm layer, sums in float64).
"""

from __future__ import annotations

import copy
import threading
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


# -- statistics over several batches of train data ------------------------------------------------


class _Stop(Exception):
    """Raised by the layer whose statistics a truncated pass gathers: nothing after it runs."""


class StagedBatchNorm(FormulaBatchNorm):
    """BatchNorm in a statistics pass over several batches (see `BatchStatistics`): a layer
    whose statistics are known normalizes with them as a train-mode pass would (biased
    variance); the first layer whose statistics are not known adds its input's float64 sums
    to the pass's totals and stops the forward pass."""

    def __init__(self, bn: nn.Module, name: str, owner: BatchStatistics):
        super().__init__(bn)
        self._name, self._owner = name, owner

    def forward(self, x: Tensor) -> Tensor:
        known = self._owner.known.get(self._name)
        if known is not None:
            mean, biased_var, _ = known
            return _normalize(x, mean, biased_var, self)
        dims = [0, *range(2, x.ndim)]
        wide = x.to(torch.float64)
        sums = (wide.sum(dim=dims), wide.square().sum(dim=dims), x.numel() // x.shape[1])
        self._owner.gather(self._name, sums)
        raise _Stop


class BatchStatistics:
    """Exact full-train-data BatchNorm statistics at one point from train data in batches:
    what one full-batch train-mode pass with momentum=None leaves in running_mean and
    running_var, without holding all the data's activations.

    One truncated pass per BatchNorm layer, in the order the forward reaches them: the pass
    for layer l runs every train batch up to layer l (the earlier layers normalizing with
    their full-data statistics, fixed by then), adding the batch's sum and sum of squares of
    l's input in float64; then mean = s1 / n and biased var = s2 / n - mean^2. The cost is
    about L/2 extra forward passes over the train data for L BatchNorm layers (each pass
    stops at its layer). Differentiable in the parameters when called under autograd (the
    graph then spans every train batch).
    """

    def __init__(self, model: nn.Module, call: Callable):
        self._module = copy.deepcopy(model).eval()
        for p in self._module.parameters():
            p.requires_grad_(False)
        replace_batchnorms(self._module, lambda name, bn: StagedBatchNorm(bn, name, self))
        self._call = call  # call(module, params, inputs) -> outputs
        self.known: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        self._target: str | None = None
        self._sums: list | None = None
        self._lock = threading.Lock()  # the passes keep their state here: one at a time

    def gather(self, name: str, sums: tuple) -> None:
        if self._target is None:
            self._target = name
        if name != self._target:  # a pass reaches exactly one unknown layer; never here
            raise AssertionError(f"statistics pass reached {name} before {self._target}")
        if self._sums is None:
            self._sums = [sums[0], sums[1], sums[2]]
        else:
            self._sums = [self._sums[0] + sums[0], self._sums[1] + sums[1], self._sums[2] + sums[2]]

    def buffers(self, params: dict[str, Tensor], train_inputs: Callable) -> dict[str, Tensor]:
        """{"<bn>.running_mean": (C,), "<bn>.running_var": (C,)} at `params`; train_inputs()
        iterates the train data's inputs in batches."""
        with self._lock:
            known, _ = self._statistics(params, train_inputs)
        out: dict[str, Tensor] = {}
        for name, (mean, _, unbiased) in known.items():
            out[f"{name}.running_mean"] = mean
            out[f"{name}.running_var"] = unbiased
        return out

    def _pass(self, params, inputs, known: dict) -> bool:
        """One forward pass of one train batch with the `known` statistics, stopping at the
        first other BatchNorm (its sums go to self._sums); True if it ran to the end."""
        self.known = known
        try:
            self._call(self._module, params, inputs)
        except _Stop:
            return False
        return True

    def _statistics(self, params: dict[str, Tensor], train_inputs: Callable):
        """({name: (mean, biased var, unbiased var)} in forward order, {name: n per channel})."""
        known: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        counts: dict[str, int] = {}
        dtype = next(iter(params.values())).dtype if params else torch.float32
        while True:
            self._target, self._sums = None, None
            for inputs in train_inputs():
                if self._pass(params, inputs, known):
                    break  # the forward finished: every layer's statistics are known
            if self._target is None:
                break
            s1, s2, n = self._sums  # n: elements per channel over all batches
            mean = s1 / n
            biased = (s2 / n - mean.square()).clamp_min(0)
            unbiased = biased * (n / max(n - 1, 1))
            known[self._target] = (mean.to(dtype), biased.to(dtype), unbiased.to(dtype))
            counts[self._target] = n
        self.known = {}
        return known, counts

    def gradient(
        self,
        point: Tensor,
        unflatten: Callable[[Tensor], dict[str, Tensor]],
        train_inputs: Callable,
        grads: dict[str, Tensor],
    ) -> Tensor:
        """d(loss)/d(point) through the statistics, given grads {"<bn>.running_mean" |
        "<bn>.running_var": d(loss)/d(buffer)} from the evaluation batches: exact, with one
        train batch's activations in memory at a time.

        In reverse forward order, layer l's buffer gradients become gradients of its sums
        (mean = s1/n, biased = s2/n - mean^2, unbiased = biased n/(n-1)); then each train
        batch's truncated pass to l is run again with the earlier layers' (mean, biased var)
        as leaves, and its sums are back-propagated: into the point, and into those earlier
        statistics (which normalize l's input in the pass), whose own turn comes later."""
        with self._lock:
            with torch.no_grad():
                known, counts = self._statistics(unflatten(point.detach()), train_inputs)
            order = list(known)
            wide = torch.float64
            g_mean = {k: grads[f"{k}.running_mean"].to(wide) for k in order}
            g_unbiased = {k: grads[f"{k}.running_var"].to(wide) for k in order}
            g_biased = {k: torch.zeros_like(g_mean[k]) for k in order}
            total = torch.zeros_like(point)
            for index in reversed(range(len(order))):
                name, n = order[index], counts[order[index]]
                mean = known[name][0].to(wide)
                g_var = g_unbiased[name] * (n / max(n - 1, 1)) + g_biased[name]
                g_s1 = g_mean[name] / n - 2 * mean * g_var / n
                g_s2 = g_var / n
                earlier = order[:index]
                for inputs in train_inputs():
                    with torch.enable_grad():
                        leaf = point.detach().requires_grad_(True)
                        leaves = {
                            k: (
                                known[k][0].detach().requires_grad_(True),
                                known[k][1].detach().requires_grad_(True),
                            )
                            for k in earlier
                        }
                        self._target, self._sums = None, None
                        self._pass(
                            unflatten(leaf), inputs, {k: (*v, None) for k, v in leaves.items()}
                        )
                        s1, s2, _ = self._sums
                        objective = (g_s1 * s1).sum() + (g_s2 * s2).sum()
                        flat = [t for k in earlier for t in leaves[k]]
                        parts = torch.autograd.grad(objective, [leaf, *flat], allow_unused=True)
                    if parts[0] is not None:
                        total += parts[0]
                    for j, k in enumerate(earlier):
                        gm, gb = parts[1 + 2 * j], parts[2 + 2 * j]
                        if gm is not None:
                            g_mean[k] += gm.to(wide)
                        if gb is not None:
                            g_biased[k] += gb.to(wide)
            self.known = {}
            return total
