"""Curvature probes as units of work, so that any executor runs them (`losslab.executors`).

A stochastic estimate (Hutchinson, Hutch++, stochastic Lanczos quadrature) is many products
with probe vectors drawn from one seeded generator. The driver draws every probe, exactly as
a run in one process does, and cuts them into units; a unit needs only the operator's recipe
(objective, kind, point, subset, method) and its probes:

    quadratic_forms(recipe, probes (m, n))  -> z^T M z per probe, (m,)
    products(recipe, columns (m, n))        -> M z per probe, (m, n)
    spectral_nodes(recipe, (probes, steps)) -> Lanczos nodes and weights per probe

Each process builds the operator from the recipe once and keeps it for the run's other units
(the driver's own operator serves the local executor). Products are single matrix-vector
products whichever process computes them, so the numbers do not depend on the executor, with
one condition for float32 networks: the same intra-op threads. torch splits a reduction (a
weight gradient's sum over the batch) by thread, so 1 and 2 threads differ in the last bits
(measured: 3.845673780 vs 3.845673837 for one trace); a Ray task runs with
floor(cpus_per_task) threads. Each unit also returns how many products it took, which the
driver adds up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from losslab.curvature.kinds import operator
from losslab.curvature.lanczos import lanczos
from losslab.executors import Executor

PROBES_PER_UNIT = 8  # one unit's probes: enough work per task, many tasks for a cluster


class OperatorRecipe:
    """How to build a curvature operator; pickles without the operator it built."""

    def __init__(self, objective, kind: str, at, params, method: str):
        self.objective, self.kind, self.at, self.params, self.method = (
            objective,
            kind,
            at,
            params,
            method,
        )
        self._operator = None

    def operator(self):
        """The operator, built on first use in this process and kept."""
        if self._operator is None:
            self._operator = operator(
                self.objective, self.kind, at=self.at, params=self.params, method=self.method
            )
        return self._operator

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_operator"] = None  # built again where it lands
        return state


def quadratic_forms(recipe: OperatorRecipe, probes: np.ndarray) -> tuple[np.ndarray, int]:
    """(z^T M z for each row z of probes (m, n), products taken)."""
    op = recipe.operator()
    before = op.n_products
    values = torch.stack([z @ op.matvec(z) for z in torch.from_numpy(probes)])
    return values.numpy(), op.n_products - before


def products(recipe: OperatorRecipe, probes: np.ndarray) -> tuple[np.ndarray, int]:
    """(M z for each row z of probes (m, n) as rows (m, n), products taken)."""
    op = recipe.operator()
    before = op.n_products
    rows = [op.matvec(z) for z in torch.from_numpy(probes)]
    return torch.stack(rows).numpy(), op.n_products - before


def spectral_nodes(recipe: OperatorRecipe, unit) -> tuple[list, int]:
    """Lanczos with each probe of unit = (probes (m, n), steps): [(nodes, weights)] per probe
    (the Ritz values and the squared first components of their vectors), products taken."""
    probes, steps = unit
    op = recipe.operator()
    before = op.n_products
    out = []
    for probe in torch.from_numpy(probes):
        krylov = lanczos(op.matvec, probe, steps)  # stops at an invariant subspace: exact
        theta, s, _ = krylov.ritz()
        out.append((theta.numpy(), (s[0] ** 2).numpy()))
    return out, op.n_products - before


def run_units(
    executor: Executor, work: Callable, recipe: OperatorRecipe, units: Sequence, what: str
) -> tuple[list, int]:
    """Every unit's result in unit order, and the products they took in all. One executor
    for every phase of an estimate, so that Ray ships the recipe once (see on_ray)."""
    results: list = [None] * len(units)

    def keep(index: int, result) -> None:
        results[index] = result

    executor.run(work, recipe, list(units), keep, describe=lambda i, unit: f"{what} {i}")
    return [value for value, _ in results], sum(count for _, count in results)


def split(rows: torch.Tensor, size: int = PROBES_PER_UNIT) -> list[np.ndarray]:
    """Rows (m, n) float64 in units of `size` rows, as numpy arrays."""
    array = rows.detach().to("cpu", torch.float64).numpy()
    return [array[i : i + size] for i in range(0, len(array), size)]
