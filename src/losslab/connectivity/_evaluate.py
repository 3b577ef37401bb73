"""Metrics at the points of a path, through `ModelObjective.evaluate` (many points per pass).

How BatchNorm is evaluated (`bn`):
- "recompute": one ModelObjective(model_a, bn="recompute") evaluates every point in one call;
  at each point the statistics of every BatchNorm are those of the data at that point's
  weights (what running_mean/var hold after a full-batch train-mode pass with momentum=None).
  The cost is the extra passes over the data that compute them (see ModelObjective).
- "eval": the running statistics of the point are the two models' interpolated linearly,
  (1 - t) a + t b, for every floating buffer. They differ from point to point, so each point
  gets its own objective (a copy of model_a with those buffers), one point per call; when
  the two models' buffers are equal, one objective evaluates every point in one call.
- a model without BatchNorm ignores `bn` ("none" is recorded): one call for every point.
Buffers other than BatchNorm statistics must be equal in the two models, except with
bn="eval", which interpolates them too.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from losslab.connectivity._pair import differing_buffers, interpolated_buffers
from losslab.errors import LosslabError
from losslab.objectives import ModelObjective
from losslab.objectives._batchnorm import BATCHNORMS, has_batchnorm

BN_MODES = ("recompute", "eval")


def check_bn(bn) -> str:
    if bn not in BN_MODES:
        raise LosslabError(
            f"bn == {bn!r}, must be 'recompute' (BatchNorm statistics of the data at each "
            "point) or 'eval' (the two models' running statistics, interpolated)."
        )
    return bn


def evaluate_points(
    model_a: nn.Module,
    model_b: nn.Module,
    loss_fn,
    data,
    points: Tensor,
    t: Tensor,
    *,
    bn: str,
    options: dict,
) -> tuple[dict[str, Tensor], str]:
    """({metric: float64 (P,)}, the bn mode used: "recompute" | "eval" | "none") at the
    points (P, n_params) of a path, at positions t (P,) (for bn="eval"'s buffers).

    options: keyword arguments for ModelObjective (output_fn, batch_fn, eval_batch_size,
    metrics)."""
    uses_bn = has_batchnorm(model_a)
    mode = bn if uses_bn else "none"
    if mode != "eval":
        _check_other_buffers(model_a, model_b, mode)
        objective_bn = "recompute" if mode == "recompute" else "eval"
        objective = ModelObjective(model_a, loss_fn, data, bn=objective_bn, **options)
        return _float64(objective.evaluate(points)), mode
    if not differing_buffers(model_a, model_b):
        objective = ModelObjective(model_a, loss_fn, data, bn="eval", **options)
        return _float64(objective.evaluate(points)), mode
    rows = []
    for point, position in zip(points, t.tolist(), strict=True):
        model = copy.deepcopy(model_a)
        with torch.no_grad():
            buffers = interpolated_buffers(model_a, model_b, position)
            for name, value in model.named_buffers():
                value.copy_(buffers[name])
        objective = ModelObjective(model, loss_fn, data, bn="eval", **options)
        rows.append(objective.evaluate(point[None]))
    return _float64({k: torch.cat([row[k] for row in rows]) for k in rows[0]}), mode


def _check_other_buffers(model_a: nn.Module, model_b: nn.Module, mode: str) -> None:
    """Buffers that are not BatchNorm statistics are model_a's at every point: refuse when
    model_b's differ (with bn="recompute" the BatchNorm statistics are recomputed)."""
    statistics = {
        f"{name}.{buffer}" if name else buffer
        for name, module in model_a.named_modules()
        if isinstance(module, BATCHNORMS)
        for buffer in ("running_mean", "running_var", "num_batches_tracked")
    }
    other = [n for n in differing_buffers(model_a, model_b) if n not in statistics]
    if other:
        fix = "pass bn='eval' to interpolate them" if mode == "recompute" else "make them equal"
        raise LosslabError(
            f"model_a and model_b differ in buffer '{other[0]}', which is not a BatchNorm "
            f"statistic: a path moves the parameters only; {fix}."
        )


def _float64(values: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", torch.float64) for k, v in values.items()}
