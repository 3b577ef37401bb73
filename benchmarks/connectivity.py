"""Connectivity of two runs of an MLP 64-512-512-10 on digits, and what bn="recompute" costs.

    PYTHONPATH=src python benchmarks/connectivity.py [--epochs 5] [--threads 1] [--json out.json]

Part 1 (issue 14's case): the MLP 64-512-512-10 (301,066 parameters) trained twice on the
digits training split (1,347 samples; SGD lr 0.05 momentum 0.9, batch 64, seeds 0 and 1),
then: weight matching (losslab.symmetry) of the second to the first; the loss and accuracy
barriers of the straight line (25 points) before and after matching; a Bezier curve (10
epochs, SGD lr 0.05) between the unaligned pair and between the aligned pair. Times: each
training, matching, the line per point, Bezier training and evaluation.

Part 2: the same MLP with BatchNorm1d after each hidden Linear, trained 3 epochs from two
seeds; a 25-point line with bn="recompute", with bn="eval" (running statistics interpolated,
one objective per point), and bn="eval" between models whose statistics are equal (one
objective, every point in one call: the cost of evaluating alone), best of --repeat, in one
evaluation batch and in batches of 256.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

import losslab as ll
from losslab.connectivity import bezier, linear_path
from losslab.symmetry import parameter_distance, permute, weight_matching

HIDDEN = (512, 512)
N_POINTS = 25


def trained(data, seed: int, epochs: int, batch_norm: bool = False) -> tuple[object, float]:
    torch.manual_seed(seed)
    model = ll.models.mlp(64, 10, hidden=HIDDEN, batch_norm=batch_norm)
    started = time.perf_counter()
    ll.train(model, data, lr=0.05, momentum=0.9, epochs=epochs, seed=seed, record_every=10**6)
    return model, time.perf_counter() - started


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def matching_case(data, epochs: int) -> dict:
    (a, train_a), (b, train_b) = trained(data, 0, epochs), trained(data, 1, epochs)
    permutation, match_s = timed(lambda: weight_matching(a, b))
    aligned = permute(b, permutation)
    before, before_s = timed(lambda: linear_path(a, b, "cross_entropy", data, n_points=N_POINTS))
    after, _ = timed(lambda: linear_path(a, aligned, "cross_entropy", data, n_points=N_POINTS))
    out = {
        "train_s": [train_a, train_b],
        "matching_s": match_s,
        "distance": [parameter_distance(a, b), parameter_distance(a, aligned)],
        "line_before": before.barrier,
        "line_after": after.barrier,
        "line_ms_per_point": 1e3 * before_s / N_POINTS,
        "end_loss": [before.values["loss"][0].item(), before.values["loss"][-1].item()],
    }
    for label, other in (("unaligned", b), ("aligned", aligned)):
        curve = bezier(a, other, "cross_entropy", data, epochs=10, lr=0.05, seed=0)
        out[f"bezier_{label}"] = curve.barrier
        out[f"bezier_{label}_s"] = curve.seconds
    return out


def bn_cost(data, repeat: int) -> dict:
    a, _ = trained(data, 0, 3, batch_norm=True)
    b, _ = trained(data, 1, 3, batch_norm=True)
    same_statistics = copy.deepcopy(b)  # b's weights, a's running statistics
    statistics = {k: v for k, v in a.state_dict().items() if "running" in k}
    same_statistics.load_state_dict({**b.state_dict(), **statistics})
    out = {}
    for label, options in (("one batch", {}), ("batches of 256", {"eval_batch_size": 256})):
        row = {}
        for mode, other, bn in (
            ("recompute", b, "recompute"),
            ("eval_interpolated", b, "eval"),
            ("eval_one_call", same_statistics, "eval"),
        ):
            best, path = float("inf"), None
            for _ in range(repeat):
                path, seconds = timed(
                    lambda other=other, bn=bn, options=options: linear_path(
                        a, other, "cross_entropy", data, n_points=N_POINTS, bn=bn, **options
                    )
                )
                best = min(best, seconds)
            row[mode] = {"ms_per_point": 1e3 * best / N_POINTS, "barrier": path.barrier}
        out[label] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = ll.data.load_dataset("digits")
    case = matching_case(data, args.epochs)
    print(f"MLP 64-512-512-10 on digits, {args.epochs} epochs, {args.threads} thread(s)")
    print(f"  training           {case['train_s'][0]:.2f} s, {case['train_s'][1]:.2f} s")
    print(f"  weight matching    {case['matching_s']:.2f} s")
    print(f"  distance a-b       {case['distance'][0]:.2f} -> {case['distance'][1]:.2f} aligned")
    print(f"  line, per point    {case['line_ms_per_point']:.1f} ms")
    for key in ("line_before", "line_after", "bezier_unaligned", "bezier_aligned"):
        barrier = case[key]
        seconds = f"  ({case[key + '_s']:.2f} s)" if key + "_s" in case else ""
        print(
            f"  {key:<18} loss barrier {barrier['loss']:.4f}, "
            f"accuracy barrier {barrier['accuracy']:.4f}{seconds}"
        )
    costs = bn_cost(data, args.repeat)
    print("MLP 64-512-512-10 with BatchNorm1d, 25-point line, ms per point:")
    for label, row in costs.items():
        cells = ", ".join(f"{mode} {cell['ms_per_point']:.1f}" for mode, cell in row.items())
        print(f"  {label:<15} {cells}")
    row = costs["one batch"]
    print(
        f"  loss barrier: recompute {row['recompute']['barrier']['loss']:.3f}, "
        f"eval (interpolated statistics) {row['eval_interpolated']['barrier']['loss']:.3f}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"matching": case, "bn_cost": costs}, indent=2))


if __name__ == "__main__":
    main()
