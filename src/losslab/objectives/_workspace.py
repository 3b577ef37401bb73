"""Output buffers that one worker reuses from grid point to grid point.

A landscape runs the same forward pass thousands of times with the same shapes. Each fresh
activation of a network on a data set is large (W1 of benchmarks/landscape.py: 1797 x 128
float32, 0.9 MB), and glibc serves allocations that large with mmap or returns them to the
system when they are freed, so the first write to every new activation page-faults on every
page. Measured on this project's 2-core machine for W1: up to 220 page faults per grid point,
which made a 41x41 slice take 3.2 s instead of 2.1 s on one thread, and whether they happen
changed from run to run. Writing each large output into the buffer the same op used for the
previous point (`out=`) makes the cost the same every run.

A Workspace belongs to one thread and one objective (ModelObjective keeps one per thread that
evaluates it) and lives as long as the objective: the chunks of a landscape, each one call,
write into the pages the first chunk touched. Its memory is one point's activations per
thread.
"""

from __future__ import annotations

from collections.abc import Hashable

import torch
from torch import Tensor


class Workspace:
    """Buffers keyed by (owner, shape): owner is any hashable naming the output (an op)."""

    def __init__(self) -> None:
        self._buffers: dict[tuple, Tensor] = {}

    def buffer(self, owner: Hashable, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """An uninitialized tensor of `shape` with the dtype and device of `like`, the same
        one each time for the same owner and shape. The caller overwrites all of it."""
        key = (owner, tuple(shape), like.dtype, like.device)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = torch.empty(shape, dtype=like.dtype, device=like.device)
            self._buffers[key] = buffer
        return buffer
