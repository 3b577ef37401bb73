"""What a network objective reports at a point: which metrics, their means over the data and,
on a subset of the data, their standard errors.

With n_samples = k of N samples, the standard error of a per-sample metric's mean has the
finite-population correction for sampling without replacement:
    se = std(ddof=1) * sqrt((1 - k / N) / k)
so se is 0 when k == N (the subset is the whole data and the mean is exact).

Over several batches a point's metrics are running float64 sums (`Totals`): each batch adds
sum_i value_i * coefficient_i, and for the standard errors its count, mean and sum of squared
deviations, merged exactly (Chan et al.'s parallel variance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass
class Totals:
    """One point's running metric sums over batches, in float64.

    sums: (m,) sum over the batches so far of each metric's weighted per-sample values.
    count, mean, m2: for the standard errors, the samples so far and each metric's mean and
    sum of squared deviations (m,), or None without them.
    """

    sums: Tensor | None = None
    count: int = 0
    mean: Tensor | None = None
    m2: Tensor | None = None

    def add(self, sums: Tensor, values: Tensor | None = None) -> None:
        """Add one batch: its weighted sums (m,) and, for standard errors, its per-sample
        values (m, B)."""
        self.sums = sums if self.sums is None else self.sums + sums
        if values is None:
            return
        values = values.to(torch.float64)
        n_b = values.shape[1]
        mean_b = values.mean(dim=1)
        m2_b = (values - mean_b[:, None]).square().sum(dim=1)
        if self.count == 0:
            self.count, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta.square() * (self.count * n_b / n)
        self.count = n

    def finish(self, n_total: int | None, se_scale: Tensor | None = None) -> Tensor:
        """[sums..., standard errors (when n_total: the subset's population)...], float64.

        se_scale: (m,) what each metric's standard error is multiplied by (a total loss
        estimates N times the mean), or None for 1."""
        if n_total is None:
            return self.sums
        k = self.count
        if k > 1:
            fpc = (1.0 - k / n_total) / k
            ses = (self.m2 / (k - 1)).clamp_min(0).sqrt() * math.sqrt(max(fpc, 0.0))
        else:
            ses = torch.zeros_like(self.sums)
        if se_scale is not None:
            ses = ses * se_scale
        return torch.cat([self.sums, ses])
