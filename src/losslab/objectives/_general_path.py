"""The general path: any nn.Module through `torch.func.functional_call` on private copies.

One point at a time per thread over all the evaluation data; exact for any module whose
forward returns one tensor. The user's model is never touched: the copies are deep copies in
eval mode. functional_call swaps the point's tensors into a copy's attributes while it runs,
so a copy serves one call at a time: every thread that evaluates gets its own replica (made
on its first call, kept while the GeneralPath lives), and the worker pool can run one point
per core, as on the fast path. Two points at once, each on one intra-op thread, beat one
point on two threads for the small convolutions of a grid point (see benchmarks/scale.py).
"""

from __future__ import annotations

import copy
import threading

from torch import Tensor, nn

from losslab.errors import LosslabError
from losslab.objectives._batchnorm import FormulaBatchNorm, RecordingBatchNorm, replace_batchnorms
from losslab.objectives.adapters import call_functional


class _Replica:
    """One thread's private copies.

    recompute: an evaluating copy (BatchNorm by formula, so gradients flow through the
    statistics) and a recording copy that fills `records` with each BatchNorm's statistics.
    """

    def __init__(self, template: nn.Module, recompute: bool):
        self.eval_module = copy.deepcopy(template)
        self.records: dict[str, tuple[Tensor, Tensor]] = {}
        self.stats_module = None
        if recompute:
            replace_batchnorms(self.eval_module, lambda name, bn: FormulaBatchNorm(bn))
            self.stats_module = copy.deepcopy(template)
            replace_batchnorms(
                self.stats_module, lambda name, bn: RecordingBatchNorm(bn, name, self.records)
            )


class GeneralPath:
    """Outputs of a model at parameter dicts, on per-thread private copies.

    recompute: BatchNorm statistics are recomputed per point on the train data (bn=
    "recompute"): a recording copy runs the train data, an evaluating copy (BatchNorm by
    formula, so gradients flow through the statistics) runs the data with them.
    """

    def __init__(self, model: nn.Module, recompute: bool):
        self.recompute = recompute
        self._template = _private_copy(model)
        self._local = threading.local()
        self._lock = threading.Lock()  # deepcopy of the shared template, one at a time
        self._replica()  # the caller's own, and a copy that fails fails here

    @property
    def template(self) -> nn.Module:
        """The private copy of the model made at construction (never run: replicas are)."""
        return self._template

    def _replica(self) -> _Replica:
        replica = getattr(self._local, "replica", None)
        if replica is None:
            with self._lock:
                replica = self._local.replica = _Replica(self._template, self.recompute)
        return replica

    def outputs(self, params: dict[str, Tensor], x, train_x, stats=None):
        """The model's return value on inputs x (a tensor, or a tuple or dict of them) at
        `params` (with recompute: statistics from train_x, or the BatchNorm buffers `stats`
        computed by the caller)."""
        replica = self._replica()
        buffers: dict[str, Tensor] = dict(stats or {})
        if replica.stats_module is not None and stats is None:
            replica.records.clear()
            call_functional(replica.stats_module, params, train_x)
            for name, (mean, var) in replica.records.items():
                buffers[f"{name}.running_mean"] = mean
                buffers[f"{name}.running_var"] = var
        return call_functional(replica.eval_module, {**params, **buffers}, x)

    def eval_outputs(self, params: dict[str, Tensor], x):
        """The model's eval-mode forward (its running statistics) at `params`: the reference
        the fast path is checked against. May return a non-tensor."""
        return call_functional(self._replica().eval_module, params, x)


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
