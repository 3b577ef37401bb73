"""The tasks of benchmarks/versus.py, run in one process on whichever losslab is first on
PYTHONPATH. Prints one JSON line: {task: {"seconds": s, "digest": [numbers]}}.

Only API present on both sides of a comparison is used; where a result type changed shape
(evaluate_grid gave a Grid with a `values` tensor before it gave a Landscape with a `values`
dict), `numbers` reads either.
"""

from __future__ import annotations

import json
import sys
import time

import torch
from landscape import digits, train, w1  # benchmarks/landscape.py: the W1 workload

import losslab as ll
from losslab import curvature, optim

DIGEST_POINTS = 64  # numbers per task compared across sides (evenly spaced over the result)


def numbers(values) -> list[float]:
    """A task's numbers, flattened and sampled to DIGEST_POINTS."""
    if isinstance(values, dict):
        values = values["loss"]
    flat = torch.as_tensor(values, dtype=torch.float64).flatten()
    step = max(1, flat.numel() // DIGEST_POINTS)
    return [float(v) for v in flat[::step][:DIGEST_POINTS]]


def w1_objective():
    x, y = digits()
    model = train(w1, x, y)
    return model, ll.ModelObjective(model, "cross_entropy", (x, y))


def make_tasks():
    model, objective = w1_objective()
    directions = ll.directions.random(model, n=2, normalization="filter", seed=0)
    axis = torch.linspace(-1, 1, 41, dtype=torch.float64)
    coords = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)
    vectors = torch.as_tensor(directions.vectors).to(objective.origin.dtype)

    def race():
        runs = ll.race(
            ll.surface("rosenbrock"),
            [optim.gd(1e-3), optim.momentum(1e-3), optim.newton()],
            [-1.5, 2.0],
            1000,
            tol=0.0,
        )
        return torch.cat([run.params[-1] for run in runs])

    def basins():
        return ll.basins(
            ll.surface("himmelblau"), optim.gd(0.01), resolution=200, n_steps=500, tol=0.0
        ).labels

    def grid():
        return ll.evaluate_grid(ll.surface("himmelblau"), resolution=400).values

    def landscape():
        return ll.landscape(objective, directions, span=1.0, resolution=41).values

    def one_slice():
        return objective.evaluate_slice(objective.origin, vectors, coords.to(vectors.dtype))

    def top5():
        return curvature.eigenvalues(objective, k=5, tol=1e-4, seed=0).values

    def trace():
        return torch.tensor([curvature.trace(objective, n_probes=100, seed=0).estimate])

    def density():
        return curvature.density(objective, n_probes=1, n_steps=100, seed=0).density

    return {
        "race": race,
        "basins": basins,
        "grid": grid,
        "landscape": landscape,
        "slice": one_slice,
        "top5": top5,
        "trace": trace,
        "density": density,
    }


def main(names: list[str]) -> None:
    tasks = make_tasks()
    out = {}
    for name in names:
        tasks[name]()  # warm-up: first-call costs (imports, compilation) are not the task's
        start = time.perf_counter()
        values = tasks[name]()
        out[name] = {"seconds": time.perf_counter() - start, "digest": numbers(values)}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
