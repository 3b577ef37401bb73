"""Small objectives with exact Hessians for the curvature tests: a float64 tanh network (the
oracle is torch.func.hessian) and a quadratic 0.5 x^T A x with a known matrix."""

from __future__ import annotations

import torch
from torch import nn

from losslab.objectives.base import Objective
from losslab.objectives.model import ModelObjective


class Quadratic(Objective):
    """0.5 x^T A x: Hessian A everywhere, minimum at 0."""

    def __init__(self, matrix: torch.Tensor):
        self.matrix = matrix
        self.n_params = matrix.shape[0]
        self.name = "quadratic"

    def __call__(self, params):
        params = torch.as_tensor(params, dtype=torch.float64)
        return 0.5 * torch.einsum("...i,ij,...j->...", params, self.matrix, params)


def quadratic(n: int = 40, seed: int = 0) -> Quadratic:
    """A random symmetric matrix with well separated top eigenvalues and negative ones."""
    generator = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    values = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    values[-3:] = torch.tensor([3.0, 5.0, 9.0], dtype=torch.float64)
    return Quadratic(basis @ torch.diag(values) @ basis.T)


def network(width: int = 16, n_samples: int = 48, seed: int = 0, **kwargs):
    """(model, objective): a float64 tanh MLP 6 -> width -> width -> 3 on random data."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(6, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 3)
    ).double()
    x = torch.randn(n_samples, 6, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 3, (n_samples,), generator=generator)
    return model, ModelObjective(model, "cross_entropy", (x, y), **kwargs)


def exact_hessian(objective, at=None) -> torch.Tensor:
    point = objective.origin if at is None else torch.as_tensor(at, dtype=torch.float64)
    return torch.func.hessian(objective.value)(point).to(torch.float64)


class Cube(torch.autograd.Function):
    """x^3 with a backward rule but no forward-mode (jvp) rule."""

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x**2
