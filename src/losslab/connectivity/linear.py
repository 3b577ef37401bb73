"""`linear_path`: metrics along the straight line between two models, and its barrier.

path = linear_path(model_a, model_b, "cross_entropy", load_dataset("digits"))
path.barrier            # {"loss": 0.41, "accuracy": 0.12}
path.values["loss"]     # (25,) at t = 0, 1/24, ..., 1
"""

from __future__ import annotations

import time

import torch
from torch import nn

from losslab._checks import check_count
from losslab.connectivity._evaluate import check_bn, evaluate_points
from losslab.connectivity._pair import check_pair
from losslab.connectivity.path import Path, barriers
from losslab.objectives._losses import resolve_loss
from losslab.params import model_vector


def linear_path(
    model_a: nn.Module,
    model_b: nn.Module,
    loss_fn,
    data,
    *,
    n_points: int = 25,
    bn: str = "recompute",
    metrics=None,
    eval_batch_size: int | None = None,
    output_fn=None,
    batch_fn=None,
) -> Path:
    """Metrics at theta(t) = (1 - t) a + t b for n_points t evenly spaced in [0, 1].

    model_a, model_b: two models of one architecture (one ParamLayout, the same module
        types and buffers); else one LosslabError line says how they differ. Neither is
        changed. Their parameter vectors a, b are the path's anchors (2, n_params).
    loss_fn, data, metrics, eval_batch_size, output_fn, batch_fn: as ModelObjective takes
        them (data: a Dataset's training split, tensors (X, y) or (X, y, w), a DataLoader).
        Metrics default to loss and accuracy for a classification loss, else loss.
    n_points: positions along the line, >= 2, t=0 and t=1 included. Every point is
        evaluated in one ModelObjective.evaluate call (many points per pass over the data).
    bn: for models with BatchNorm (ignored without; the path records bn="none"):
        "recompute" (default): the statistics of every BatchNorm are recomputed on `data` at
            each point, as a full-batch train-mode pass with momentum=None leaves them. An
            interpolated network's activations no longer match either model's running
            statistics, so this is the honest loss of the point. Cost: one extra forward
            pass over the data per point when it fits one evaluation batch (measured on a
            64-512-512-10 MLP with BatchNorm on digits: see README), about L/2 extra passes
            for L BatchNorm layers when the data takes several batches.
        "eval": the running statistics are the two models' interpolated linearly,
            (1 - t) a + t b. No extra pass, but each point needs its own objective when the
            two models' statistics differ (one point per call), and the statistics of the
            interpolated network are not those: the barrier is usually larger.

    Returns a Path of kind "linear" whose `barrier` is, for the loss,
    max_t [L(t) - ((1 - t) L(0) + t L(1))], and for accuracy the largest drop below its
    line (see connectivity.path).
    """
    started = time.perf_counter()
    layout = check_pair(model_a, model_b)
    n_points = check_count("n_points", n_points, minimum=2)
    bn = check_bn(bn)
    a, b = model_vector(model_a), model_vector(model_b)
    t = torch.linspace(0, 1, n_points, dtype=torch.float64)
    s = t.to(a.dtype).to(a.device)[:, None]
    points = (1 - s) * a + s * b  # (n_points, n_params); exactly a at t=0, b at t=1
    options = {
        "metrics": metrics,
        "eval_batch_size": eval_batch_size,
        "output_fn": output_fn,
        "batch_fn": batch_fn,
    }
    values, mode = evaluate_points(
        model_a, model_b, loss_fn, data, points, t, bn=bn, options=options
    )
    settings = {"loss": resolve_loss(loss_fn).name, "n_points": n_points}
    return Path(
        kind="linear",
        t=t,
        values=values,
        barrier=barriers(t, values),
        anchors=torch.stack([a, b]).cpu(),
        names=layout.names,
        shapes=layout.shapes,
        bn=mode,
        seconds=time.perf_counter() - started,
        settings=settings,
    )
