"""Objectives for the Ray executor's tests. This module is pickled BY VALUE into the Ray
workers (they cannot import the tests folder), so it imports only installed packages.

Each evaluation of a chunk appends "pid first-coordinate" to a log file before it computes:
the tests count from it how often each chunk ran and in which process."""

from __future__ import annotations

import os
import time

import torch

from losslab.objectives.base import Objective


class LoggedBowl(Objective):
    """sum(x^2) on n_params parameters, logging each chunk; `delay` seconds per chunk, and
    a chunk with a point whose first coordinate is >= `fail_at` raises."""

    name = "logged_bowl"

    def __init__(self, log: str, n_params: int = 2, delay: float = 0.0, fail_at=None):
        self.log, self.n_params, self.delay, self.fail_at = log, n_params, delay, fail_at
        self.chunk_size = 5

    def __call__(self, params):
        return (torch.as_tensor(params) ** 2).sum(-1)

    def evaluate_slice(self, origin, directions, coords):
        first = float(coords[0, 0])
        with open(self.log, "a") as log:
            log.write(f"{os.getpid()} {first!r}\n")
        time.sleep(self.delay)
        largest = float(coords[:, 0].max())
        if self.fail_at is not None and largest >= self.fail_at:
            raise ValueError(f"the model cannot run at a = {largest:g}")
        return super().evaluate_slice(origin, directions, coords)

    def describe(self):
        return {"name": self.name, "n_params": self.n_params}


def log_lines(log: str) -> list[tuple[int, float]]:
    if not os.path.exists(log):
        return []
    with open(log) as file:
        return [(int(p), float(a)) for p, a in (line.split() for line in file if line.strip())]


def mlp(width: int) -> torch.nn.Module:
    """The width sweep's family: 2-width-2 with ReLU (moons)."""
    return torch.nn.Sequential(
        torch.nn.Linear(2, width), torch.nn.ReLU(), torch.nn.Linear(width, 2)
    )
