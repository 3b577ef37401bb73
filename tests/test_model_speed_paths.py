"""The paths that make custom modules fast give the numbers of the model's own forward.

The traced path (`_traced`: a torch.fx graph of the module run as functional ops, with the
first layer's linearity on slices, channels-last images and in-place activations) and the
general path on the worker pool (one private copy per worker thread) are each checked
against the plain per-point loop: the point's weights copied into a deepcopy of the model,
one forward pass over the data, torch's loss. Models the trace must refuse fall back to the
general path with the same numbers.
"""

import copy
import threading

import pytest
import torch
import torch.nn.functional as F
from test_model_objective import _randomize_running_stats
from torch import nn

from losslab.objectives import pool
from losslab.objectives._traced import compile_traced
from losslab.objectives.model import ModelObjective

needs_openmp = pytest.mark.skipif(
    not pool.limits_threads(), reason="a worker limits its own threads only with OpenMP"
)


class ResidualCNN(nn.Module):
    """A residual block with BatchNorm, max-pooling and a view: the issue's custom shape."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.stem = nn.Conv2d(1, 6, 3, padding=1)
        self.conv1 = nn.Conv2d(6, 6, 3, padding=1)
        self.norm = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1, bias=False)
        self.head = nn.Linear(6 * 3 * 3, 3)

    def forward(self, x):
        h = F.relu(self.stem(x))
        h = F.relu(h + self.conv2(F.relu(self.norm(self.conv1(h)))))
        h = F.max_pool2d(h, 2)
        return self.head(h.view(h.size(0), -1))


class ResidualMLP(nn.Module):
    """A Linear first layer after a reshape of the input alone, a root-level parameter read
    by get_attr, a buffer, and a tied weight (one entry in the flat vector, two uses)."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.inp = nn.Linear(12, 10)
        self.norm = nn.BatchNorm1d(10)
        self.hidden = nn.Linear(10, 10)
        self.tied = nn.Linear(10, 10, bias=False)
        self.tied.weight = self.hidden.weight
        self.out = nn.Linear(10, 3)
        self.scale = nn.Parameter(torch.tensor([0.7]))
        self.register_buffer("shift", torch.linspace(-0.2, 0.2, 10))

    def forward(self, x):
        h = torch.tanh(self.norm(self.inp(x.reshape(x.shape[0], -1))))
        h = h + self.scale * torch.relu(self.hidden(h)) + self.shift
        return self.out(h - self.tied(h))


class Branchy(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.a, self.b = nn.Linear(12, 8), nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.a(x.flatten(1)))
        if h.sum() > 0:
            h = h * 2
        return self.b(h)


class Recurrent(nn.Module):
    """A GRU: a parametric module the traced path does not cover."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.gru, self.head = nn.GRU(4, 6, batch_first=True), nn.Linear(6, 3)

    def forward(self, x):
        out, _ = self.gru(x.reshape(x.shape[0], 3, 4))
        return self.head(out[:, -1])


class Counting(nn.Module):
    """A forward with Python state (a call counter): a trace would freeze it at one call."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.a, self.calls = nn.Linear(12, 3), 0

    def forward(self, x):
        self.calls += 1
        return self.a(x.flatten(1)) * (1.0 if self.calls < 1000 else 2.0)


def images(n=48, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 6, 6, generator=generator), torch.randint(
        0, 3, (n,), generator=generator
    )


def tabular(n=48, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 4, generator=generator), torch.randint(0, 3, (n,), generator=generator)


CASES = {
    "residual_cnn": (lambda: _randomize_running_stats(ResidualCNN()), images, "traced"),
    "residual_mlp": (lambda: _randomize_running_stats(ResidualMLP()), tabular, "traced"),
    "untraceable": (Branchy, tabular, "functional_call"),
    "gru": (Recurrent, tabular, "functional_call"),
    "stateful": (Counting, tabular, "functional_call"),
}


def loop(model, objective, points, x, y):
    """The oracle: per point, the weights copied into a model copy, one pass, torch's loss."""
    copied = copy.deepcopy(model).eval()
    named = dict(copied.named_parameters())
    losses, accuracies = [], []
    with torch.no_grad():
        for point in points:
            for name, value in objective.layout.unflatten(point).items():
                named[name].copy_(value)
            outputs = copied(x)
            losses.append(F.cross_entropy(outputs, y))
            accuracies.append((outputs.argmax(1) == y).float().mean())
    return torch.stack(losses), torch.stack(accuracies)


def random_points(objective, n=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, objective.n_params, generator=generator)
    return objective.origin + 0.3 * noise


def plane(objective, seed=0):
    generator = torch.Generator().manual_seed(seed)
    dirs = 0.2 * torch.randn(2, objective.n_params, generator=generator)
    axis = torch.linspace(-1, 1, 3)
    return dirs, torch.cartesian_prod(axis, axis)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("workers", [1, 2])
def test_every_path_equals_the_per_point_loop(case, workers):
    make, data, path = CASES[case]
    model, (x, y) = make(), data()
    objective = ModelObjective(model, "cross_entropy", (x, y), workers=workers)
    assert objective.describe()["path"] == path and not objective.fast_path
    points = random_points(objective)
    losses, accuracies = loop(model, objective, points, x, y)
    result = objective.evaluate(points)
    torch.testing.assert_close(result["loss"], losses, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result["accuracy"], accuracies)
    # differentiable values (no in-place activations, BatchNorm by formula) agree too
    torch.testing.assert_close(objective(points), losses, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["residual_cnn", "residual_mlp"])
@pytest.mark.parametrize("trick", [True, False])
def test_traced_slices_with_and_without_first_layer_pieces_equal_the_loop(case, trick):
    make, data, _ = CASES[case]
    model, (x, y) = make(), data()
    objective = ModelObjective(model, "cross_entropy", (x, y))
    assert objective._fast.program.first_layer is not None  # the input feeds one layer
    objective._fast.slice_trick = trick
    dirs, coords = plane(objective)
    sliced = objective.evaluate_slice(objective.origin, dirs, coords)
    losses, accuracies = loop(model, objective, objective.origin + coords @ dirs, x, y)
    torch.testing.assert_close(sliced["loss"], losses, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sliced["accuracy"], accuracies)


def test_traced_gradients_equal_autograd_through_the_model():
    model, (x, y) = _randomize_running_stats(ResidualCNN()), images()
    objective = ModelObjective(model, "cross_entropy", (x, y))
    points = random_points(objective, n=2)
    values, grads = objective.value_and_grad(points)
    for point, value, grad in zip(points, values, grads, strict=True):
        leaf = point.clone().requires_grad_(True)
        outputs = torch.func.functional_call(
            copy.deepcopy(model).eval(), objective.layout.unflatten(leaf), (x,)
        )
        expected = F.cross_entropy(outputs, y)
        (expected_grad,) = torch.autograd.grad(expected, leaf)
        torch.testing.assert_close(value, expected.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)


def test_traced_recompute_equals_the_general_path():
    """bn="recompute": statistics from the train data at each point, on both paths."""
    model, (x, y) = _randomize_running_stats(ResidualCNN()), images()
    traced = ModelObjective(model, "cross_entropy", (x, y), bn="recompute")
    assert traced.describe()["path"] == "traced"
    general = ModelObjective(model, "cross_entropy", (x, y), bn="recompute")
    general._fast, general._path = None, "functional_call"
    general._general = general._module_path
    points = random_points(traced, n=3)
    dirs, coords = plane(traced)
    for a, b in [
        (traced.evaluate(points), general.evaluate(points)),
        (
            traced.evaluate_slice(traced.origin, dirs, coords),
            general.evaluate_slice(general.origin, dirs, coords),
        ),
    ]:
        torch.testing.assert_close(a["loss"], b["loss"], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(a["accuracy"], b["accuracy"])


def test_the_trace_refuses_what_it_does_not_cover_and_never_changes_the_model():
    assert compile_traced(Branchy()) is None  # control flow on data
    assert compile_traced(Recurrent()) is None  # a GRU
    assert compile_traced(Counting()) is None  # a forward that changes the module
    hooked = ResidualCNN()
    hooked.conv1.register_forward_hook(lambda module, inputs, output: output * 2)
    assert compile_traced(hooked) is None
    model = ResidualCNN().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert compile_traced(model) is not None
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_a_program_that_disagrees_with_the_model_falls_back_silently(monkeypatch, recwarn):
    from losslab.objectives import _traced

    def wrong(model):
        program = compile_traced(model)
        program.ops[-1].steps[-1].op.names = ("stem.weight",)  # the head reads the wrong weight
        return program

    monkeypatch.setattr("losslab.objectives.model.compile_traced", wrong)
    model, (x, y) = ResidualCNN(), images()
    objective = ModelObjective(model, "cross_entropy", (x, y))
    assert objective.describe()["path"] == "functional_call"
    assert not [w for w in recwarn if "losslab" in str(w.message)]
    points = random_points(objective, n=2)
    losses, _ = loop(model, objective, points, x, y)
    torch.testing.assert_close(objective.evaluate(points)["loss"], losses, rtol=1e-5, atol=1e-6)
    assert _traced.compile_traced is compile_traced


@needs_openmp
def test_the_general_path_runs_one_private_copy_per_worker(monkeypatch):
    from losslab.objectives import _general_path

    threads = []
    original = _general_path._Replica.__init__

    def counted(self, template, recompute):
        threads.append(threading.get_ident())
        original(self, template, recompute)

    monkeypatch.setattr(_general_path._Replica, "__init__", counted)
    model, (x, y) = Branchy(), tabular()
    objective = ModelObjective(model, "cross_entropy", (x, y), workers=2)
    assert objective._plan_workers(8)[0] == 2
    points = random_points(objective, n=8)
    result = objective.evaluate(points)
    again = objective.evaluate(points)
    # the caller's copy (made at construction) and one per worker that ran a point, kept
    assert threads[0] == threading.get_ident() and len(threads) == len(set(threads)) >= 2
    losses, _ = loop(model, objective, points, x, y)
    torch.testing.assert_close(result["loss"], losses, rtol=1e-5, atol=1e-6)
    assert torch.equal(again["loss"], result["loss"])
