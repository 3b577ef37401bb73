"""The trace of a Hessian from Hessian-vector products: Hutchinson and Hutch++ (of the
Gauss-Newton or empirical Fisher matrix with kind="ggn" | "fisher": the same from their products).

Hutchinson: tr(H) ~ mean_i z_i^T H z_i over Rademacher probes z_i (entries +-1), standard
error std(ddof=1) / sqrt(m).

Hutch++ (Meyer, Musco, Musco, Woodruff 2021) with m products split in thirds: s = m // 3
products sketch the top of the spectrum, Q = orth(H S) (n, r) with r = min(s, n); r products
give the exact part tr(Q^T H Q); the remaining m - s - r Rademacher probes g_i, projected off Q
(g' = g - Q Q^T g), estimate the rest tr((I - QQ^T) H (I - QQ^T)) by Hutchinson. Since
tr(H) = tr(Q^T H Q) + tr((I - QQ^T) H (I - QQ^T)) exactly, the estimate is unbiased given Q,
and its standard error is the residual Hutchinson part's, std(ddof=1) / sqrt(m - s - r),
conditional on the sketch. When Q spans the whole space (n <= s) the result is exact and the
error 0. Probes come from a `torch.Generator` seeded with `seed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab import budget
from losslab._checks import check_count, check_seed
from losslab.curvature.kinds import check_kind, operator
from losslab.curvature.operators import CurvatureOperator
from losslab.errors import LosslabError
from losslab.results import Result
from losslab.results.kinds import check_shapes

METHODS = ("hutch++", "hutchinson")


@dataclass(frozen=True)
class TraceEstimate(Result):
    """estimate +- standard_error of tr(H) from n_products Hessian-vector products.

    exact_part: tr(Q^T H Q) of Hutch++'s sketch (0 for Hutchinson); samples: the Hutchinson
    terms z^T H z (of the residual, for Hutch++) whose mean completes the estimate; kind: the
    matrix ("hessian", "ggn" or "fisher")."""

    result_type = "trace_estimate"

    estimate: float
    standard_error: float
    method: str
    n_products: int
    seed: int
    exact_part: float
    samples: Tensor
    n_params: int
    objective: str = ""
    kind: str = "hessian"

    def __post_init__(self):
        check_kind(self.kind)
        check_shapes(self, {"samples": ("n_samples",)})
        if self.method not in METHODS:
            raise LosslabError(f"method == {self.method!r}, must be 'hutch++' or 'hutchinson'.")


def require_probes(what: str, n_probes: int, n: int) -> None:
    """Refuse probes that would not fit: `rademacher` draws all of them at once, (n_probes, n)
    int64 bits turned into float64 (3 numbers of 8 bytes per entry while it runs)."""
    budget.require_memory(
        what,
        "n_probes",
        n_probes,
        lambda p: 3 * p * n * budget.FLOAT64,
        f"{n_probes} probe vectors x {n} numbers, 24 bytes each",
    )


def rademacher(n: int, generator: torch.Generator, count: int = 1) -> Tensor:
    """(count, n) float64 entries +-1 with equal probability."""
    bits = torch.randint(0, 2, (count, n), generator=generator, dtype=torch.int64)
    return (2 * bits - 1).to(torch.float64)


def trace(
    objective,
    n_probes: int = 100,
    method: str = "hutch++",
    seed: int = 0,
    *,
    at=None,
    params=None,
    hvp_method: str = "auto",
    kind: str = "hessian",
) -> TraceEstimate:
    """tr(H) at `at` (default: a network's own weights) with `n_probes` products.

    method: "hutch++" (needs n_probes >= 6) or "hutchinson" (n_probes >= 2).
    params: a parameter subset: the trace of the block H[S, S] (see `HessianOperator`).
    kind: "hessian", "ggn" (Gauss-Newton) or "fisher" (empirical Fisher): whose trace.
    """
    check_kind(kind)
    if method not in METHODS:
        raise LosslabError(f"method == {method!r}, must be 'hutch++' or 'hutchinson'.")
    minimum = 6 if method == "hutch++" else 2
    check_count("n_probes", n_probes, minimum)
    check_seed(seed)
    op = operator(objective, kind, at=at, params=params, method=hvp_method)
    require_probes("trace", n_probes, op.n)
    generator = torch.Generator().manual_seed(seed)
    if method == "hutchinson":
        exact, samples = 0.0, _hutchinson(op, rademacher(op.n, generator, n_probes))
    else:
        exact, samples = _hutch_plus_plus(op, n_probes, generator)
    op.release()
    if samples.numel() == 0:
        mean, error = 0.0, 0.0
    else:
        mean = float(samples.mean())
        error = float(samples.std(correction=1)) / math.sqrt(samples.numel())
    return TraceEstimate(
        estimate=exact + mean,
        standard_error=error,
        method=method,
        n_products=op.n_products,
        seed=seed,
        exact_part=exact,
        samples=samples,
        n_params=op.n,
        objective=objective.name,
        kind=kind,
    )


def _hutchinson(op: CurvatureOperator, probes: Tensor) -> Tensor:
    return torch.stack([z @ op.matvec(z) for z in probes])


def _hutch_plus_plus(op: CurvatureOperator, n_probes: int, generator) -> tuple[float, Tensor]:
    s = n_probes // 3
    sketch = op.matmat(rademacher(op.n, generator, s).T)  # (n, s): H S
    q, _ = torch.linalg.qr(sketch)  # (n, r), r = min(n, s)
    exact = float(sum(column @ op.matvec(column) for column in q.T))
    if q.shape[1] == op.n:  # the sketch spans everything: tr(Q^T H Q) is the trace
        return exact, torch.empty(0, dtype=torch.float64)
    probes = rademacher(op.n, generator, n_probes - s - q.shape[1])
    probes = probes - (probes @ q) @ q.T
    return exact, _hutchinson(op, probes)
