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

import numpy as np
import torch
from torch import Tensor

from losslab import budget
from losslab._checks import check_count, check_seed
from losslab.curvature.kinds import check_kind
from losslab.curvature.probes import OperatorRecipe, products, quadratic_forms, run_units, split
from losslab.errors import LosslabError
from losslab.executors import executor_of
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
    executor=None,
) -> TraceEstimate:
    """tr(H) at `at` (default: a network's own weights) with `n_probes` products.

    method: "hutch++" (needs n_probes >= 6) or "hutchinson" (n_probes >= 2).
    params: a parameter subset: the trace of the block H[S, S] (see `HessianOperator`).
    kind: "hessian", "ggn" (Gauss-Newton) or "fisher" (empirical Fisher): whose trace.
    executor: who computes the products ("local", "ray" or a `losslab.executors.Executor`):
        the probes are drawn here from `seed` and sent in units, so every executor returns
        the same numbers.
    """
    check_kind(kind)
    if method not in METHODS:
        raise LosslabError(f"method == {method!r}, must be 'hutch++' or 'hutchinson'.")
    minimum = 6 if method == "hutch++" else 2
    check_count("n_probes", n_probes, minimum)
    check_seed(seed)
    recipe = OperatorRecipe(objective, kind, at, params, hvp_method)
    op = recipe.operator()
    require_probes("trace", n_probes, op.n)
    generator = torch.Generator().manual_seed(seed)
    run = _Products(recipe, executor)
    if method == "hutchinson":
        exact, samples = 0.0, run.forms(rademacher(op.n, generator, n_probes))
    else:
        exact, samples = _hutch_plus_plus(run, op.n, n_probes, generator)
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
        n_products=run.n_products,
        seed=seed,
        exact_part=exact,
        samples=samples,
        n_params=op.n,
        objective=objective.name,
        kind=kind,
    )


class _Products:
    """The products of one estimate, run in units by an executor; counts them."""

    def __init__(self, recipe: OperatorRecipe, executor):
        self.recipe, self.executor, self.n_products = recipe, executor_of(executor), 0

    def forms(self, probes: Tensor) -> Tensor:
        """z^T M z for each row of probes (m, n) -> (m,) float64."""
        values, count = run_units(
            self.executor, quadratic_forms, self.recipe, split(probes), "probe batch"
        )
        self.n_products += count
        return torch.from_numpy(np.concatenate(values))

    def columns(self, probes: Tensor) -> Tensor:
        """M S for S = probes.T (n, m) -> (n, m) float64."""
        rows, count = run_units(self.executor, products, self.recipe, split(probes), "sketch")
        self.n_products += count
        return torch.from_numpy(np.concatenate(rows)).T


def _hutch_plus_plus(run: _Products, n: int, n_probes: int, generator) -> tuple[float, Tensor]:
    s = n_probes // 3
    sketch = run.columns(rademacher(n, generator, s))  # (n, s): H S
    q, _ = torch.linalg.qr(sketch)  # (n, r), r = min(n, s)
    exact = float(sum(run.forms(q.T)))  # sum of q^T H q over the columns, in order
    if q.shape[1] == n:  # the sketch spans everything: tr(Q^T H Q) is the trace
        return exact, torch.empty(0, dtype=torch.float64)
    probes = rademacher(n, generator, n_probes - s - q.shape[1])
    probes = probes - (probes @ q) @ q.T
    return exact, run.forms(probes)
