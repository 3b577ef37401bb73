"""Time per product of the three curvature operators on W1, side by side in one run.

    .venv/bin/python benchmarks/curvature_kinds.py [--repeat 20] [--json out.json]

Workload W1 (benchmarks/landscape.py): MLP 64-128-128-10 trained briefly on all 1797 digits,
float32, mean cross-entropy, 26,122 parameters. Rows: the Hessian ("reuse": the kept gradient
graph; "forward": forward-over-reverse), the same products through `objective.value` as one
function (what HessianOperator did before products streamed over batches: the fast Sequential
path's forward), the GGN ("reuse": kept graph, three backward passes; "forward": jvp + vjp)
and the empirical Fisher ("reuse": the same kept graph on the per-sample losses; "per_sample":
kept per-sample gradients G (B, n), two matrix-vector products; "forward": jvp + vjp).
Setup (building what "reuse" keeps, timed apart) and the best of --repeat products are
reported; ratios are to the Hessian's reuse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from landscape import digits, train, w1  # noqa: E402  (the W1 workload, built the same way)

from losslab.curvature import HessianOperator, operator  # noqa: E402
from losslab.objectives.base import Objective  # noqa: E402
from losslab.objectives.model import ModelObjective  # noqa: E402


class OneFunction(Objective):
    """The network's mean loss as one plain function (no batches): the pre-streaming route."""

    def __init__(self, objective: ModelObjective):
        self.inner, self.name = objective, objective.name
        self.n_params, self.origin = objective.n_params, objective.origin

    def __call__(self, params):
        return self.inner(params)

    def value(self, point):
        return self.inner.value(point)


def time_products(op, repeat: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    vectors = torch.randn(repeat + 1, op.n, generator=generator, dtype=torch.float64)
    start = time.perf_counter()
    op.matvec(vectors[0])  # builds what the operator keeps
    first = time.perf_counter() - start
    times = []
    for v in vectors[1:]:
        start = time.perf_counter()
        op.matvec(v)
        times.append(time.perf_counter() - start)
    return {"first_ms": 1e3 * first, "best_ms": 1e3 * min(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    x, y = digits()
    model = train(w1, x, y)
    objective = ModelObjective(model, "cross_entropy", (x, y))
    rows = {
        "hessian reuse": lambda: operator(objective, "hessian"),
        "hessian forward": lambda: operator(objective, "hessian", method="forward"),
        "hessian reuse, one function": lambda: HessianOperator(OneFunction(objective)),
        "ggn reuse": lambda: operator(objective, "ggn"),
        "ggn forward": lambda: operator(objective, "ggn", method="forward"),
        "fisher reuse": lambda: operator(objective, "fisher"),
        "fisher per_sample": lambda: operator(objective, "fisher", method="per_sample"),
        "fisher forward": lambda: operator(objective, "fisher", method="forward"),
    }
    results = {name: time_products(make(), args.repeat) for name, make in rows.items()}
    base = results["hessian reuse"]["best_ms"]
    print(
        f"W1: {objective.n_params} parameters, {len(y)} samples, {torch.get_num_threads()} threads"
    )
    print(f"{'operator':32s} {'first (ms)':>11s} {'product (ms)':>13s} {'vs hessian reuse':>17s}")
    for name, row in results.items():
        ratio = row["best_ms"] / base
        print(f"{name:32s} {row['first_ms']:11.1f} {row['best_ms']:13.2f} {ratio:16.2f}x")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
