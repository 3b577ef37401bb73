"""What the benchmarks share: a brief seeded training run, the grid of a landscape, the
forward FLOPs of a model, and the fp32 matmul peak those FLOPs are compared with (the naive
FLOP limit)."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn


def train_briefly(model: nn.Module, x, y, epochs: int = 3, seed: int = 0) -> nn.Module:
    """A brief seeded SGD run (momentum 0.9, batches of 64), so a landscape is not at random
    weights; returns the model in eval mode."""
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 64):
            batch = order[start : start + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    return model.eval()


def grid(resolution: int) -> torch.Tensor:
    """(resolution**2, 2) coords in ll.landscape's order ('ij'), from -1 to 1."""
    axis = torch.linspace(-1, 1, resolution)
    return torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)


def naive_flops(model: nn.Module, x: torch.Tensor) -> float:
    """2 * multiply-adds of the Linear and Conv layers in one forward pass over x."""
    total = 0.0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            total += 2.0 * output.numel() * module.in_features
        elif isinstance(module, nn.Conv2d):
            k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += 2.0 * output.numel() * k

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return total


def matmul_peak(n: int = 1024, repeat: int = 7, inner: int = 10) -> float:
    """Best fp32 GFLOP/s of an n x n torch.mm with the current thread setting (the mean of
    `inner` products per try, best of `repeat` tries, after 3 warm-ups)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / inner)
    return 2 * n**3 / best / 1e9
