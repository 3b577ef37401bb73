"""`operator(objective, kind)`: the Hessian, the Gauss-Newton or the Fisher as one operator.

    op = operator(objective, "ggn")                      # at a network's own weights
    op @ v, op @ V, op.to_scipy(), op.dense()           # see operators.py
    eigenvalues(objective, k=3, kind="fisher")          # every spectral function takes kind=

kind: "hessian" (hvp.py), "ggn" (the generalized Gauss-Newton, gauss_newton.py: also the
true Fisher of cross-entropy and MSE) or "fisher" (the empirical Fisher, fisher.py).

Time per product on W1 (MLP 64-128-128-10, all 1797 digits, 26,122 parameters, float32; 2 CPU
cores shared with other jobs, best of 30 in each of two runs, benchmarks/curvature_kinds.py):
Hessian reuse 3.2 / 7.9 ms (through `objective.value` as one function, the route before
products streamed over batches: 3.3 / 9.5 ms), GGN reuse 3.0 / 2.7 ms, Fisher reuse
2.8 / 2.6 ms; the "forward" ways 17 to 60 ms; Fisher "per_sample" 58 / 48 ms (after 4.2 / 2.5 s
building the 188 MB matrix of per-sample gradients).
"""

from __future__ import annotations

from losslab.curvature.fisher import FisherOperator
from losslab.curvature.gauss_newton import GGNOperator
from losslab.curvature.hvp import HessianOperator
from losslab.curvature.operators import CurvatureOperator
from losslab.errors import LosslabError

OPERATORS: dict[str, type[CurvatureOperator]] = {
    "hessian": HessianOperator,
    "ggn": GGNOperator,
    "fisher": FisherOperator,
}
KINDS = tuple(OPERATORS)
NAMES = {"hessian": "Hessian", "ggn": "Gauss-Newton", "fisher": "empirical Fisher"}


def check_kind(kind) -> str:
    """`kind` if it names an operator, else one line listing those that do."""
    if kind not in OPERATORS:
        raise LosslabError(f"kind == {kind!r}, must be one of {', '.join(map(repr, KINDS))}.")
    return kind


def operator(
    objective, kind: str = "hessian", *, at=None, params=None, method: str = "auto"
) -> CurvatureOperator:
    """The `kind` matrix of `objective` at `at` (default: a network's own weights), as a
    matrix-free symmetric operator; `params` takes a parameter subset's diagonal block.

    kind: "hessian" (any objective), "ggn" or "fisher" (a network objective: a
        ModelObjective, whose outputs and per-sample losses they are made from).
    method: how products are computed ("auto", "reuse", "forward", "reverse"; see the
        kinds' modules).
    """
    return OPERATORS[check_kind(kind)](objective, at=at, params=params, method=method)
