"""Speed of network landscapes: losslab (one evaluate_slice call, and ll.landscape in its default
chunks) against per-point reference loops.

    .venv/bin/python benchmarks/landscape.py [--repeat 3] [--json benchmarks/results/landscape.json]
    .venv/bin/python benchmarks/landscape.py --resolutions 9,11 --repeat 1 --sample 20  # smoke

Workloads (sklearn digits, all 1797 samples, standardized, float32; cross-entropy + accuracy;
two filter-normalized random directions, biases and BatchNorm ignored; coords from -1 to 1):
    W1  MLP  Linear 64->128, ReLU, Linear 128->128, ReLU, Linear 128->10      41x41 and 101x101
    W2  CNN  Conv 1->16 3x3, ReLU, Conv 16->32 3x3, ReLU, Flatten, Linear 512->10      41x41

Every method computes the loss and accuracy of the whole data set at every grid point:
    losslab    ModelObjective(...) + evaluate_slice (construction time included)
    ll.landscape   ModelObjective(...) + ll.landscape(...) with its default chunks (64 points a
               call, as users run it); the table gives its speed relative to the one call
    loop (a)   per point: copy origin + a*d0 + b*d1 into a model copy, then the data in
               in-memory batches of 128 under no_grad (Li et al.'s tool, minus its DataLoader)
    loop (b)   the same with all data in one forward pass per point
    loss-landscapes   the `loss-landscapes` package, only if it is importable
Results must agree (relative 1e-5 on the loss, equal accuracy) or the script exits non-zero.
Methods run in turn, one run each per round, for --repeat rounds; times are medians over the
rounds, and the per-round speedups over loop (b) are printed too (a shared machine's speed
drifts; runs seconds apart see the same machine). The 101x101 references are timed on a
sample of points and scaled (the table says so). The FLOP limit is the model's naive forward
FLOPs on all samples at all points divided by the measured fp32 matmul peak of this machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from flops import grid, matmul_peak, naive_flops, train_briefly
from sklearn.datasets import load_digits
from torch import nn

import losslab
from losslab.objectives.model import ModelObjective
from losslab.params import ParamLayout, model_vector

RTOL = 1e-5


# -- workloads ----------------------------------------------------------------------------------


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    bunch = load_digits()
    x = bunch.data.astype(np.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(bunch.target).long()


def w1() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
    )


def w2() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def train(make, x, y, epochs: int = 5, seed: int = 0) -> nn.Module:
    """make() under `seed`, then briefly trained (flops.train_briefly)."""
    torch.manual_seed(seed)
    return train_briefly(make(), x, y, epochs, seed)


def directions(model: nn.Module) -> tuple[torch.Tensor, str]:
    """(2, n_params) filter-normalized random directions; the library's when it exists."""
    try:
        from losslab.directions import random as random_directions
    except ImportError:
        random_directions = None
    if random_directions is not None:
        dirs = random_directions(model, n=2, normalization="filter", ignore="biasbn", seed=0)
        return torch.as_tensor(dirs.vectors).to(torch.float32), "losslab.directions.random"
    # Li et al.: each row (filter / neuron) of a weight rescaled to the weight row's norm;
    # 1-D parameters (biases) zeroed.
    generator = torch.Generator().manual_seed(0)
    layout = ParamLayout.of(model)
    vectors = []
    for _ in range(2):
        parts = {}
        for name, p in model.named_parameters():
            d = torch.randn(p.shape, generator=generator)
            if p.ndim <= 1:
                d.zero_()
            else:
                w = p.detach().flatten(1).norm(dim=1)
                scale = w / (d.flatten(1).norm(dim=1) + 1e-10)
                d = d * scale.view(-1, *[1] * (p.ndim - 1))
            parts[name] = d
        vectors.append(layout.flatten(parts))
    return torch.stack(vectors), "inline filter normalization"


# -- methods ------------------------------------------------------------------------------------


def run_losslab(model, x, y, dirs, coords) -> dict[str, torch.Tensor]:
    objective = ModelObjective(model, "cross_entropy", (x, y))
    return objective.evaluate_slice(objective.origin, dirs, coords)


def run_landscape(model, x, y, dirs, resolution: int) -> dict[str, torch.Tensor]:
    """ll.landscape with its default chunks on the same grid ('ij' order, -1 to 1)."""
    objective = ModelObjective(model, "cross_entropy", (x, y))
    result = losslab.landscape(objective, dirs, span=1.0, resolution=resolution)
    return {k: torch.as_tensor(v).reshape(-1) for k, v in result.values.items()}


def run_loop(model, x, y, dirs, coords, batch: int | None) -> dict[str, torch.Tensor]:
    """Per point: copy origin + a*d0 + b*d1 into a model copy; evaluate; batch=None: one pass."""
    copied = copy.deepcopy(model).eval()
    layout = ParamLayout.of(copied)
    origin = model_vector(copied)
    params = dict(copied.named_parameters())
    losses, accuracies = torch.empty(len(coords)), torch.empty(len(coords))
    n = len(x)
    with torch.no_grad():
        for i, (a, b) in enumerate(coords.tolist()):
            point = origin + a * dirs[0] + b * dirs[1]
            for name, value in layout.unflatten(point).items():
                params[name].copy_(value)
            if batch is None:
                outputs = copied(x)
                losses[i] = F.cross_entropy(outputs, y)
                accuracies[i] = (outputs.argmax(1) == y).sum() / n
                continue
            loss_sum, correct = torch.zeros(()), torch.zeros(())
            for start in range(0, n, batch):
                xb, yb = x[start : start + batch], y[start : start + batch]
                outputs = copied(xb)
                loss_sum += F.cross_entropy(outputs, yb, reduction="sum")
                correct += (outputs.argmax(1) == yb).sum()
            losses[i], accuracies[i] = loss_sum / n, correct / n
    return {"loss": losses, "accuracy": accuracies}


def run_loss_landscapes(model, x, y, resolution: int):
    """Seconds for the `loss-landscapes` package's random_plane (loss only), or None if it is
    not importable. Timing only: it draws its own directions and grid, so its values are
    not comparable point for point."""
    try:
        import loss_landscapes
        import loss_landscapes.metrics
    except ImportError:
        return None
    metric = loss_landscapes.metrics.Loss(nn.CrossEntropyLoss(), x, y)
    start = time.perf_counter()
    with torch.no_grad():
        loss_landscapes.random_plane(
            copy.deepcopy(model),
            metric,
            distance=2,
            steps=resolution,
            normalization="filter",
            deepcopy_model=True,
        )
    return time.perf_counter() - start


def rounds(methods: dict, repeat: int) -> tuple[dict, dict]:
    """Time every method once per round, `repeat` rounds, in turn: a drift in the machine's
    speed (other tenants of a shared host) then touches all methods alike, and the speedup of
    each round compares runs made seconds apart. Returns ({label: [seconds]}, {label: result})."""
    times: dict = {label: [] for label in methods}
    results: dict = {}
    for _ in range(repeat):
        for label, fn in methods.items():
            start = time.perf_counter()
            results[label] = fn()
            times[label].append(time.perf_counter() - start)
    return times, results


def agree(ours: dict, reference: dict) -> tuple[float, int]:
    """max relative loss difference, number of points whose accuracy differs."""
    rel = ((ours["loss"] - reference["loss"]).abs() / reference["loss"].abs()).max()
    mismatches = int((ours["accuracy"] - reference["accuracy"]).abs().gt(1e-6).sum())
    return float(rel), mismatches


# -- main ---------------------------------------------------------------------------------------


OURS, CHUNKED = "losslab", "ll.landscape (chunks of 64)"
LOOP_A, LOOP_B = "loop (a) batches of 128", "loop (b) one pass"


def bench_case(name, model, x, y, resolution, repeat, sample, peak, dirs):
    coords = grid(resolution)
    n_points = len(coords)
    flops = naive_flops(model, x) * n_points
    limit = flops / (peak * 1e9)
    index, scale, note = slice(None), 1.0, "all points"
    if sample and sample < n_points:
        index = torch.linspace(0, n_points - 1, sample).round().long()
        scale, note = n_points / sample, f"timed on {sample} of {n_points} points and scaled"
    methods = {
        OURS: lambda: run_losslab(model, x, y, dirs, coords),
        CHUNKED: lambda: run_landscape(model, x, y, dirs, resolution),
        LOOP_A: lambda: run_loop(model, x, y, dirs, coords[index], 128),
        LOOP_B: lambda: run_loop(model, x, y, dirs, coords[index], None),
    }
    times, results = rounds(methods, repeat)
    times[LOOP_A] = [t * scale for t in times[LOOP_A]]
    times[LOOP_B] = [t * scale for t in times[LOOP_B]]
    seconds = {label: statistics.median(ts) for label, ts in times.items()}
    ours = results[OURS]

    rows = [
        {
            "case": name,
            "method": OURS,
            "seconds": seconds[OURS],
            "times": times[OURS],
            "points_per_s": n_points / seconds[OURS],
            "flop_fraction": limit / seconds[OURS],
            "speedup_vs_loop_a": seconds[LOOP_A] / seconds[OURS],
            "speedup_vs_loop_b": seconds[LOOP_B] / seconds[OURS],
            "speedups_per_round_vs_loop_b": [
                b / a for a, b in zip(times[OURS], times[LOOP_B], strict=True)
            ],
            "min_seconds": min(times[OURS]),
            "flop_limit_seconds": limit,
            "naive_gflop": flops / 1e9,
            "note": "ModelObjective construction + evaluate_slice",
        }
    ]
    rel, mismatches = agree(results[CHUNKED], ours)
    rows.append(
        {
            "case": name,
            "method": CHUNKED,
            "seconds": seconds[CHUNKED],
            "times": times[CHUNKED],
            "points_per_s": n_points / seconds[CHUNKED],
            "flop_fraction": limit / seconds[CHUNKED],
            "speedup_vs_loop_a": seconds[LOOP_A] / seconds[CHUNKED],
            "speedup_vs_loop_b": seconds[LOOP_B] / seconds[CHUNKED],
            # The speed of the chunked public call relative to one call (1.0: as fast).
            "speed_vs_one_call": seconds[OURS] / seconds[CHUNKED],
            "speed_vs_one_call_per_round": [
                one / chunked for one, chunked in zip(times[OURS], times[CHUNKED], strict=True)
            ],
            "max_rel_loss_diff_vs_losslab": rel,
            "accuracy_mismatches_vs_losslab": mismatches,
            "note": "ModelObjective construction + ll.landscape, default chunks",
        }
    )
    for label in (LOOP_A, LOOP_B):
        rel, mismatches = agree({k: v[index] for k, v in ours.items()}, results[label])
        rows.append(
            {
                "case": name,
                "method": label,
                "seconds": seconds[label],
                "times": times[label],
                "points_per_s": n_points / seconds[label],
                "flop_fraction": limit / seconds[label],
                "max_rel_loss_diff_vs_losslab": rel,
                "accuracy_mismatches_vs_losslab": mismatches,
                "note": note,
            }
        )
    external = run_loss_landscapes(model, x, y, resolution)
    if external is None:
        rows.append({"case": name, "method": "loss-landscapes", "skipped": "not installed"})
    else:
        rows.append(
            {
                "case": name,
                "method": "loss-landscapes",
                "seconds": external,
                "points_per_s": n_points / external,
                "flop_fraction": limit / external,
                "note": "random_plane, one run, own directions: timing only",
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=300, help="reference points at 101x101")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/landscape.json"))
    parser.add_argument(
        "--resolutions", default="41,101", help="the small and the large grid's points per axis"
    )
    args = parser.parse_args()
    small, large = (int(r) for r in args.resolutions.split(","))

    load_before = os.getloadavg()
    peak = matmul_peak()
    torch.set_num_threads(1)
    peak_one = matmul_peak()
    torch.set_num_threads(os.cpu_count() or 1)
    x, y = digits()
    image = x.reshape(-1, 1, 8, 8)
    m1 = train(w1, x, y)
    m2 = train(w2, image, y)
    d1, source = directions(m1)
    d2, _ = directions(m2)

    rows = []
    rows += bench_case(f"W1 MLP {small}x{small}", m1, x, y, small, args.repeat, None, peak, d1)
    rows += bench_case(f"W2 CNN {small}x{small}", m2, image, y, small, args.repeat, None, peak, d2)
    rows += bench_case(
        f"W1 MLP {large}x{large}", m1, x, y, large, args.repeat, args.sample, peak, d1
    )
    load_after = os.getloadavg()

    print(
        f"fp32 matmul peak: {peak:.0f} GFLOP/s ({torch.get_num_threads()} threads), "
        f"{peak_one:.0f} GFLOP/s (1 thread); directions: {source}"
    )
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"(other processes on this machine inflate every timing)"
    )
    header = f"{'case':16s} {'method':26s} {'seconds':>8s} {'points/s':>9s} {'vs (a)':>7s} "
    print(header + f"{'vs (b)':>7s} {'FLOP frac':>9s}  note")
    failed = []
    for row in rows:
        if "skipped" in row:
            print(f"{row['case']:16s} {row['method']:26s} skipped: {row['skipped']}")
            continue
        va = f"{row['speedup_vs_loop_a']:.2f}x" if "speedup_vs_loop_a" in row else ""
        vb = f"{row['speedup_vs_loop_b']:.2f}x" if "speedup_vs_loop_b" in row else ""
        print(
            f"{row['case']:16s} {row['method']:26s} {row['seconds']:8.2f} "
            f"{row['points_per_s']:9.0f} {va:>7s} {vb:>7s} {row['flop_fraction']:9.0%}  "
            f"{row['note']}"
        )
        per_round = row.get("speedups_per_round_vs_loop_b")
        if per_round:
            listed = ", ".join(f"{v:.2f}" for v in per_round)
            print(f"{'':44s} vs (b) round by round: {listed}")
        if "speed_vs_one_call" in row:
            listed = ", ".join(f"{v:.2f}" for v in row["speed_vs_one_call_per_round"])
            print(
                f"{'':44s} speed vs one evaluate_slice call: {row['speed_vs_one_call']:.3f} "
                f"(one call's seconds / chunked seconds; round by round: {listed})"
            )
        rel = row.get("max_rel_loss_diff_vs_losslab")
        if rel is not None:
            print(
                f"{'':44s} agreement: max rel loss diff {rel:.1e}, "
                f"accuracy mismatches {row['accuracy_mismatches_vs_losslab']}"
            )
            if rel > RTOL or row["accuracy_mismatches_vs_losslab"]:
                failed.append(f"{row['case']} {row['method']}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "losslab": losslab.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
        "repeat": args.repeat,
        "matmul_peak_gflops": peak,
        "matmul_peak_gflops_one_thread": peak_one,
        "directions": source,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "rtol": RTOL,
    }
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {args.json}")
    if failed:
        print("results disagree: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
