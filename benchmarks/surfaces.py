"""Speed of the surface toolkit: an optimizer race, a basin map and a grid evaluation.

    .venv/bin/python benchmarks/surfaces.py [--repeat 3] [--json benchmarks/results/surfaces.json]

Each case is timed `--repeat` times (median reported) next to a plain per-point reference loop,
the way a one-point-at-a-time tool would do it, so the speedup is measured, not claimed.
Slow references are timed on a sample and scaled up; the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import losslab as ll
from losslab import optim


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def race() -> ll.Race:
    optimizers = [optim.gd(1e-3), optim.momentum(1e-3), optim.newton()]
    return ll.race(ll.surface("rosenbrock"), optimizers, [-1.5, 2.0], 1000, tol=0.0)


def reference_race() -> float:
    """Seconds for the same race as three plain loops: torch.optim SGD, SGD with momentum, and
    Newton with torch.func.hessian, one step at a time, stopping where race stops."""
    surface = ll.surface("rosenbrock")
    begin = time.perf_counter()
    for momentum in (0.0, 0.9):
        param = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([param], lr=1e-3, momentum=momentum)
        for _ in range(1000):
            opt.zero_grad()
            surface(param).backward()
            opt.step()
    point = torch.tensor([-1.5, 2.0], dtype=torch.float64)
    for _ in range(1000):
        grad = torch.func.grad(surface)(point)
        if not grad.any():  # converged exactly: the same stopping rule as race(tol=0)
            break
        step = torch.linalg.lstsq(torch.func.hessian(surface)(point), grad).solution
        point = point - step
    return time.perf_counter() - begin


def basin_map() -> ll.BasinMap:
    return ll.basins(ll.surface("himmelblau"), optim.gd(0.01), resolution=200, n_steps=500, tol=0.0)


def grid() -> ll.Grid:
    return ll.evaluate_grid(ll.surface("himmelblau"), resolution=400)


def reference_basins(n_starts: int) -> float:
    """Seconds per start for one start at a time with torch.optim.SGD (a typical tool)."""
    surface = ll.surface("himmelblau")
    starts = torch.empty(n_starts, 2, dtype=torch.float64).uniform_(-5, 5)
    begin = time.perf_counter()
    for start in starts:
        param = start.clone().requires_grad_(True)
        opt = torch.optim.SGD([param], lr=0.01)
        for _ in range(500):
            opt.zero_grad()
            surface(param).backward()
            opt.step()
    return (time.perf_counter() - begin) / n_starts


def reference_grid(n_points: int) -> float:
    """Seconds per point for a Python loop calling the surface once per grid point."""
    surface = ll.surface("himmelblau")
    xs = torch.linspace(-5, 5, n_points, dtype=torch.float64)
    begin = time.perf_counter()
    with torch.no_grad():
        for x in xs:
            surface(torch.stack([x, x]))
    return (time.perf_counter() - begin) / n_points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/surfaces.json"))
    args = parser.parse_args()
    torch.manual_seed(0)

    rows = []
    seconds, trajectories = timed(race, args.repeat)
    steps = sum(t.n_steps for t in trajectories)
    rows.append(
        {
            "case": "race: gd, momentum, newton x 1000 steps (rosenbrock)",
            "seconds": seconds,
            "rate": f"{steps / seconds:,.0f} steps/s",
            "reference_seconds": reference_race(),
            "note": "reference: torch.optim SGD, SGD+momentum and a torch.func Newton loop;"
            " final losses " + ", ".join(f"{t.optimizer} {t.final_loss:.2e}" for t in trajectories),
        }
    )

    seconds, result = timed(basin_map, args.repeat)
    per_start = reference_basins(20)
    reference = per_start * 200 * 200
    rows.append(
        {
            "case": "basin map 200x200 x 500 steps (himmelblau, gd)",
            "seconds": seconds,
            "rate": f"{200 * 200 * 500 / seconds:,.0f} start-steps/s",
            "reference_seconds": reference,
            "note": "reference: torch.optim.SGD one start at a time, timed on 20 starts"
            f" and scaled; basins reached {sorted(result.fractions())}",
        }
    )

    seconds, _ = timed(grid, args.repeat)
    per_point = reference_grid(20_000)
    rows.append(
        {
            "case": "grid 400x400 evaluation (himmelblau)",
            "seconds": seconds,
            "rate": f"{400 * 400 / seconds:,.0f} points/s",
            "reference_seconds": per_point * 400 * 400,
            "note": "reference: one call per point, timed on 20,000 points and scaled",
        }
    )

    print(f"{'case':55s} {'losslab s':>10s} {'ref s':>9s} {'speedup':>8s}  rate")
    for row in rows:
        ref = row["reference_seconds"]
        speed = f"{ref / row['seconds']:.0f}x" if ref else "-"
        ref_text = f"{ref:9.2f}" if ref else f"{'-':>9s}"
        print(f"{row['case']:55s} {row['seconds']:10.3f} {ref_text} {speed:>8s}  {row['rate']}")
        print(f"{'':55s} {row['note']}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "losslab": ll.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "repeat": args.repeat,
    }
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
