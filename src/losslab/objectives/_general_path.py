"""The general path: any nn.Module through `torch.func.functional_call` on private copies.

One point at a time over all the evaluation data; exact for any module whose forward returns
one tensor. The user's model is never touched: the copies are deep copies in eval mode.
functional_call swaps the point's tensors into the copy's attributes while it runs, so the
copy serves one call at a time: concurrent callers (threads) take turns on a lock.
"""

from __future__ import annotations

import copy
import threading

from torch import Tensor, nn

from losslab.errors import LosslabError
from losslab.objectives._batchnorm import FormulaBatchNorm, RecordingBatchNorm, replace_batchnorms
from losslab.objectives.adapters import call_functional


class GeneralPath:
    """Outputs of a model at parameter dicts, on private copies.

    recompute: BatchNorm statistics are recomputed per point on the train data (bn=
    "recompute"): a recording copy runs the train data, an evaluating copy (BatchNorm by
    formula, so gradients flow through the statistics) runs the data with them.
    """

    def __init__(self, model: nn.Module, recompute: bool):
        self.recompute = recompute
        self._eval_module = _private_copy(model)
        self._records: dict[str, tuple[Tensor, Tensor]] = {}
        self._stats_module = None
        if recompute:
            replace_batchnorms(self._eval_module, lambda name, bn: FormulaBatchNorm(bn))
            self._stats_module = _private_copy(model)
            replace_batchnorms(
                self._stats_module, lambda name, bn: RecordingBatchNorm(bn, name, self._records)
            )
        self._lock = threading.RLock()

    def outputs(self, params: dict[str, Tensor], x, train_x, stats=None):
        """The model's return value on inputs x (a tensor, or a tuple or dict of them) at
        `params` (with recompute: statistics from train_x, or the BatchNorm buffers `stats`
        computed by the caller over train data in several batches)."""
        with self._lock:
            buffers: dict[str, Tensor] = dict(stats or {})
            if self._stats_module is not None and stats is None:
                self._records.clear()
                call_functional(self._stats_module, params, train_x)
                for name, (mean, var) in self._records.items():
                    buffers[f"{name}.running_mean"] = mean
                    buffers[f"{name}.running_var"] = var
            return call_functional(self._eval_module, {**params, **buffers}, x)

    def eval_outputs(self, params: dict[str, Tensor], x):
        """The model's own eval-mode forward (its running statistics) at `params`: the
        reference the fast path is checked against. May return a non-tensor."""
        with self._lock:
            return call_functional(self._eval_module, params, x)


def _private_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode whose parameters need no gradient."""
    try:
        private = copy.deepcopy(model)
    except Exception as error:  # noqa: BLE001
        raise LosslabError(
            f"the model cannot be copied ({type(error).__name__}: {error}); ModelObjective "
            "evaluates a private copy so that the model itself is never changed."
        ) from error
    private.eval()
    for p in private.parameters():
        p.requires_grad_(False)
    return private
