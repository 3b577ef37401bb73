"""What a network objective reports at a point: which metrics, their means over the data and,
on a subset of the data, their standard errors.

With n_samples = k of N samples, the standard error of a per-sample metric's mean has the
finite-population correction for sampling without replacement:
    se = std(ddof=1) * sqrt((1 - k / N) / k)
so se is 0 when k == N (the subset is the whole data and the mean is exact).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives._losses import LossSpec

METRICS = ("loss", "accuracy")


def check_metrics(metrics, loss: LossSpec, y: Tensor) -> tuple[str, ...]:
    """The metric names to report: `metrics` checked, or by default ("loss", "accuracy")
    for a classification loss (or a plain callable with integer targets), else ("loss",)."""
    integer_targets = not y.is_floating_point()
    classification = loss.classification or (loss.per_sample is None and integer_targets)
    if metrics is None:
        return ("loss", "accuracy") if classification else ("loss",)
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics or len(set(metrics)) != len(metrics):
        raise LosslabError(
            f"metrics == {list(metrics)!r}, must be distinct names among {list(METRICS)}."
        )
    if "accuracy" in metrics and not classification:
        raise LosslabError(
            f"metrics asks for 'accuracy', but loss {loss.name!r} with float targets "
            "is a regression: leave 'accuracy' out."
        )
    return metrics


def value_keys(metrics: tuple[str, ...], subset: bool) -> tuple[str, ...]:
    """The keys of one point's values, in order: the metrics, then "<metric>_se" on a subset."""
    return metrics + (tuple(f"{m}_se" for m in metrics) if subset else ())


def summarize(
    per_sample: list[Tensor],
    means: list[Tensor] | None,
    n_samples: int | None,
    n_total: int,
) -> Tensor:
    """[means..., standard errors (with n_samples)...] of per-sample metric values (N,) each;
    `means` when the caller has them (a loss whose mean is not a per-sample mean)."""
    if means is None:
        means = [values.mean() for values in per_sample]
    if n_samples is None:
        return torch.stack(means)
    k = n_samples
    fpc = (1.0 - k / n_total) / k
    ses = [v.std(correction=1) * math.sqrt(fpc) if k > 1 else v.new_zeros(()) for v in per_sample]
    return torch.stack(means + ses)
