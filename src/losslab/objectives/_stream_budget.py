"""How many samples one evaluation batch holds: memory bounded by the batch, not the data.

`eval_batch_size` divides a memory budget by (activation bytes per sample x points in flight).
Activation bytes per sample are measured at construction on the samples the objective checks
the model on: on the fast path three times the program's largest activation (what a point in
inference holds), on the general path the sum of every leaf module's output bytes (what a
backward pass holds; an inference pass holds less, so the estimate errs on the safe side).
Small data sets stay one batch: the budget is EVAL_BUDGET (512 MiB) or an eighth of the
available memory, whichever is less; a 1,797-sample digits CNN holds about 100 MB.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from losslab import budget
from losslab.objectives.adapters import call_model, tensors_of

EVAL_BUDGET = 512 * 2**20  # bytes of activations all points in flight may hold at once


def module_output_bytes(model: nn.Module, inputs) -> int:
    """Bytes of every leaf module's tensor outputs when a private eval-mode copy of `model`
    runs on `inputs` (no gradients), plus the inputs themselves."""
    probe = copy.deepcopy(model).eval()
    total = [sum(t.numel() * t.element_size() for t in tensors_of(inputs))]

    def count(module, args, output) -> None:
        outputs = output if isinstance(output, tuple | list) else (output,)
        total[0] += sum(t.numel() * t.element_size() for t in outputs if isinstance(t, Tensor))

    for module in probe.modules():
        if not list(module.children()):
            module.register_forward_hook(count)
    with torch.no_grad():
        call_model(probe, inputs)
    return total[0]


def eval_batch_size(n: int, bytes_per_sample: float, points_in_flight: int) -> int:
    """Samples per batch: all n when they fit the budget, else as many as fit (at least 1)."""
    limit = min(EVAL_BUDGET, budget.available_memory() // 8)
    per_batch_sample = max(bytes_per_sample, 1.0) * max(points_in_flight, 1)
    return max(1, min(n, int(limit // per_batch_sample)))
