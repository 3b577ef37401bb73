"""Peak resident memory (run: PYTHONPATH=src .venv/bin/python benchmarks/stream_memory.py)
of an 11x11 slice of a small residual CNN (custom module, BatchNorm)
on generated 3x32x32 data: whole-data evaluation (eval_batch_size=N, as before streaming),
streamed (default eval_batch_size) and a per-point loop over batches of 128. Each
configuration runs in its own child process (peak RSS is per process); one driver runs them."""

import json
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


class ResCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.bn = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.blocks = nn.Sequential(Block(16), Block(16))
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        h = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.head(F.relu(self.down(h)).mean(dim=(2, 3)))


def child(mode, n):
    torch.manual_seed(0)
    model = ResCNN().eval()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
    from losslab.directions import random as random_directions
    from losslab.objectives.model import ModelObjective
    from losslab.params import ParamLayout, model_vector

    dirs = torch.as_tensor(
        random_directions(model, n=2, normalization="filter", ignore="biasbn", seed=0).vectors
    ).float()
    axis = torch.linspace(-1, 1, 11)
    coords = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    info = {}
    if mode == "loop":
        layout = ParamLayout.of(model)
        origin = model_vector(model)
        params = dict(model.named_parameters())
        losses = []
        with torch.no_grad():
            for a, b in coords.tolist():
                for k, v in layout.unflatten(origin + a * dirs[0] + b * dirs[1]).items():
                    params[k].copy_(v)
                total = 0.0
                for s in range(0, n, 128):
                    total += float(
                        F.cross_entropy(model(x[s : s + 128]), y[s : s + 128], reduction="sum")
                    )
                losses.append(total / n)
        loss = torch.tensor(losses)
    else:
        size = n if mode == "whole" else None
        o = ModelObjective(model, "cross_entropy", (x, y), eval_batch_size=size)
        info = {"eval_batch_size": o.eval_batch_size, "n_batches": o.n_batches}
        loss = o.evaluate_slice(o.origin, dirs, coords)["loss"]
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "mode": mode,
                "n": n,
                "peak_MB": round(peak),
                "before_MB": round(before),
                "seconds": round(seconds, 1),
                "loss_mean": float(loss.mean()),
                **info,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 2:
        child(sys.argv[1], int(sys.argv[2]))
    else:
        for n in (1000, 4000):
            for mode in ("whole", "streamed", "loop"):
                out = subprocess.run(
                    [sys.executable, __file__, mode, str(n)], capture_output=True, text=True
                )
                print(out.stdout.strip() or out.stderr[-2000:], flush=True)
