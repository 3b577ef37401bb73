"""The local executor against Ray on this machine: an MLP 64-128-128-10 on digits at 101x101.

    PYTHONPATH=src python benchmarks/distributed.py [--resolution 101] [--cpus 2]
        [--gpus-per-task 0.25] [--json out.json]

Measured, in one process, side by side:
- start-up: `ray.init` on this machine (a local instance with --cpus CPUs), then a warm-up
  run of a 3x3 landscape, so that Ray's worker processes exist before compute is timed
  (both are one-off costs of a session, reported apart from the compute);
- compute: the same landscape (filter-normalized random plane, span 1, chunks of 64 points)
  with the local executor and with Ray (cpus_per_task 1: one task per CPU), best of
  --repeat; the two results are compared bit for bit;
- per-task overhead: --tasks units that do nothing, their wall time per task.

On a machine with a GPU (`device`), --gpus-per-task runs the Ray tasks on it (a fraction
shares one GPU among tasks) and the local executor on the GPU model, for the speedup.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import losslab as ll
from losslab.executors import RayExecutor


def nothing(shared, unit):
    return unit


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=101)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--gpus-per-task", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import ray

    device = "cuda" if args.gpus_per_task > 0 else "cpu"
    torch.manual_seed(0)
    data = ll.data.load_dataset("digits")
    model = ll.models.mlp(64, 10, hidden=(128, 128)).to(device)
    objective = ll.ModelObjective(model, "cross_entropy", data.train)
    directions = ll.directions.random(objective, seed=0)
    n_points = args.resolution**2

    _, init_s = timed(
        lambda: ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="ERROR")
    )
    executor = RayExecutor(gpus_per_task=args.gpus_per_task)
    _, warm_s = timed(lambda: ll.landscape(objective, directions, resolution=3, executor=executor))

    def run(on):
        return ll.landscape(objective, directions, resolution=args.resolution, executor=on)

    local_s, ray_s = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        local, seconds = timed(lambda: run("local"))
        local_s.append(seconds)
        remote, seconds = timed(lambda: run(executor))
        ray_s.append(seconds)
    identical = all(np.array_equal(local.values[k], remote.values[k]) for k in local.values)

    seen = []
    _, tasks_s = timed(
        lambda: executor.run(nothing, None, list(range(args.tasks)), lambda i, r: seen.append(r))
    )
    ray.shutdown()

    out = {
        "device": device,
        "points": n_points,
        "chunks": -(-n_points // objective.chunk_size),
        "ray_init_s": init_s,
        "ray_warmup_s": warm_s,
        "local_s": min(local_s),
        "ray_s": min(ray_s),
        "ray_over_local": min(ray_s) / min(local_s),
        "identical": identical,
        "per_task_ms": 1000 * tasks_s / args.tasks,
        "threads": torch.get_num_threads(),
    }
    print(
        f"MLP 64-128-128-10 on digits, {args.resolution}x{args.resolution} ({n_points} points, "
        f"{out['chunks']} chunks of {objective.chunk_size}), {device}"
    )
    print(f"  start-up: ray.init {init_s:.2f} s, first run (workers start) {warm_s:.2f} s")
    per_point = 1000 * out["local_s"] / n_points
    print(f"  local executor  {out['local_s']:8.2f} s   ({per_point:.2f} ms a point)")
    print(f"  Ray executor    {out['ray_s']:8.2f} s   ({out['ray_over_local']:.2f}x local)")
    overhead = f"{out['per_task_ms']:.2f} ms ({args.tasks} empty tasks)"
    print(f"  identical: {identical}; per-task overhead {overhead}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
