"""The fast path's inference tricks give the values of the plain computation.

Logits as columns (out, N) for cross-entropy, reused output buffers (one Workspace per
worker) and a leading Flatten kept out of the first layer: each is checked against torch's
own loss, against the same objective with the trick switched off, or against a per-point
loop over a model copy.
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from losslab.objectives._losses import cross_entropy_columns
from losslab.objectives._workspace import Workspace
from losslab.objectives.model import ModelObjective


def mlp(n_in=6, n_out=4, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(n_in, 24), nn.ReLU(), nn.Linear(24, 20), nn.ReLU(), nn.Linear(20, n_out)
    )


def data(n=64, n_in=6, n_out=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, n_in, generator=generator), torch.randint(
        0, n_out, (n,), generator=generator
    )


def plane(objective, seed=0, size=5):
    generator = torch.Generator().manual_seed(seed)
    dirs = 0.3 * torch.randn(2, objective.n_params, generator=generator)
    axis = torch.linspace(-1, 1, size)
    return dirs, torch.cartesian_prod(axis, axis)


def per_point_loop(model, objective, points, x, y):
    """Loss and accuracy of a model copy loaded with each point's weights."""
    copied = copy.deepcopy(model).eval()
    losses, accuracies = [], []
    with torch.no_grad():
        for point in points:
            torch.nn.utils.vector_to_parameters(point, copied.parameters())
            outputs = copied(x)
            losses.append(F.cross_entropy(outputs, y))
            accuracies.append((outputs.argmax(1) == y).float().mean())
    return torch.stack(losses), torch.stack(accuracies)


def test_cross_entropy_columns_equals_torch_and_argmax_including_ties():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(300, 7, generator=generator) * 5
    logits[:40] = 1.5  # every class tied: argmax takes the first, class 0
    logits[40:80, 2] = logits[40:80, 5] = 50.0  # a tie between classes 2 and 5
    targets = torch.randint(0, 7, (300,), generator=generator)
    targets[:20] = 0
    targets[40:60] = 5  # tied with 2, which comes first: not correct
    logits[80:100] = 0.0
    logits[80:100, 3] = 12.0  # confident and right: a loss of 4e-5 next to logits of 12
    targets[80:100] = 3
    losses, hits = cross_entropy_columns(logits.t().contiguous(), targets)
    expected = F.cross_entropy(logits, targets, reduction="none")
    torch.testing.assert_close(losses, expected, rtol=1e-5, atol=1e-8)
    assert torch.equal(hits, (logits.argmax(1) == targets).float())
    assert hits[:20].sum() == 20 and hits[40:60].sum() == 0


def test_columns_are_used_only_where_they_reproduce_the_loss():
    x, y = data()
    assert ModelObjective(mlp(), "cross_entropy", (x, y))._fast.columns
    # 16 outputs or more: the layer already writes rows, no columns
    wide_x, wide_y = data(n_out=16)
    assert not ModelObjective(mlp(n_out=16), "cross_entropy", (wide_x, wide_y))._fast.columns
    # weighted, smoothed or ignored targets, and other losses: torch's own computation
    for loss in (
        nn.CrossEntropyLoss(weight=torch.rand(4) + 0.5),
        nn.CrossEntropyLoss(label_smoothing=0.1),
        "mse",
    ):
        targets = y if loss != "mse" else F.one_hot(y, 4).float()
        assert not ModelObjective(mlp(), loss, (x, targets))._fast.columns
    ignored = y.clone()
    ignored[::5] = -100
    assert not ModelObjective(mlp(), "cross_entropy", (x, ignored))._fast.columns


@pytest.mark.parametrize("n_samples", [None, 40])
def test_columns_and_rows_give_the_same_metrics(n_samples):
    x, y = data()
    objective = ModelObjective(mlp(), "cross_entropy", (x, y), n_samples=n_samples)
    dirs, coords = plane(objective)
    columns = objective.evaluate_slice(objective.origin, dirs, coords)
    objective._fast.columns = False
    rows = objective.evaluate_slice(objective.origin, dirs, coords)
    assert set(columns) == set(rows)
    for key in rows:
        torch.testing.assert_close(columns[key], rows[key], rtol=1e-6, atol=1e-7)


def test_reused_buffers_give_each_point_its_own_values():
    # Several workers and several calls reuse the same buffers; every value must still be
    # the per-point loop's, in any order of the points.
    model, (x, y) = mlp(), data()
    objective = ModelObjective(model, "cross_entropy", (x, y), workers=3)
    dirs, coords = plane(objective)
    points = objective.origin + coords @ dirs
    loss, accuracy = per_point_loop(model, objective, points, x, y)
    for order in (torch.arange(len(coords)), torch.randperm(len(coords))):
        sliced = objective.evaluate_slice(objective.origin, dirs, coords[order])
        torch.testing.assert_close(sliced["loss"], loss[order], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(sliced["accuracy"], accuracy[order])
        evaluated = objective.evaluate(points[order])
        torch.testing.assert_close(evaluated["loss"], loss[order], rtol=1e-5, atol=1e-6)


def test_recompute_with_train_data_of_another_size_keeps_both_buffers_apart():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 4))
    x, y = data(n=50)
    train_x, train_y = data(n=80, seed=1)
    objective = ModelObjective(
        model, "cross_entropy", (x, y), bn="recompute", train_data=(train_x, train_y)
    )
    dirs, coords = plane(objective)
    sliced = objective.evaluate_slice(objective.origin, dirs, coords)
    singles = torch.stack([objective.evaluate(objective.origin + c @ dirs)["loss"] for c in coords])
    torch.testing.assert_close(sliced["loss"], singles, rtol=1e-5, atol=1e-6)


def test_a_workspace_buffer_is_reused_per_owner_and_shape():
    workspace, like = Workspace(), torch.zeros(2)
    a = workspace.buffer("layer", (3, 4), like)
    assert workspace.buffer("layer", (3, 4), like) is a
    assert workspace.buffer("layer", (5, 4), like) is not a
    assert workspace.buffer("other", (3, 4), like) is not a
    assert workspace.buffer("layer", (3, 4), like.double()).dtype == torch.float64


def test_a_leading_flatten_stays_out_of_the_first_layer():
    # An MLP on images: Flatten runs once per data set, the Linear after it is a first
    # layer whose slice pieces are combined per point.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 5, 30), nn.ReLU(), nn.Linear(30, 3))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, 5, 5, generator=generator)
    y = torch.randint(0, 3, (40,), generator=generator)
    objective = ModelObjective(model, "cross_entropy", (x, y))
    assert objective.fast_path and objective._fast.slice_pays(objective.origin, 2)
    dirs, coords = plane(objective)
    sliced = objective.evaluate_slice(objective.origin, dirs, coords)
    loss, accuracy = per_point_loop(model, objective, objective.origin + coords @ dirs, x, y)
    torch.testing.assert_close(sliced["loss"], loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sliced["accuracy"], accuracy)


def test_a_deep_mlp_alternates_two_buffers_without_overwriting_an_input():
    # Linear after Linear with nothing between, and equal widths: each layer's input is the
    # previous layer's buffer, never its own.
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 20),
        nn.Linear(20, 20),
        nn.ReLU(),
        nn.Linear(20, 20),
        nn.Linear(20, 20),
        nn.Tanh(),
        nn.Linear(20, 4),
    )
    x, y = data()
    objective = ModelObjective(model, "cross_entropy", (x, y), workers=2)
    owners = {op.owner for op in objective._fast.program.ops if hasattr(op, "owner")}
    assert owners == {("linear", 0), ("linear", 1)}
    dirs, coords = plane(objective)
    points = objective.origin + coords @ dirs
    loss, accuracy = per_point_loop(model, objective, points, x, y)
    for result in (
        objective.evaluate_slice(objective.origin, dirs, coords),
        objective.evaluate(points),
    ):
        torch.testing.assert_close(result["loss"], loss, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(result["accuracy"], accuracy)


def test_first_layer_pieces_follow_the_slice_asked_for():
    # The pieces are cached by value: another slice of the same shape, or the same tensor
    # changed in place, must not be answered from the cache.
    objective = ModelObjective(mlp(), "cross_entropy", data())
    objective._fast.slice_trick = True  # fan-in 6: by cost it would not combine pieces
    dirs, coords = plane(objective, seed=0)
    other, _ = plane(objective, seed=1)
    for directions in (dirs, other, dirs):
        sliced = objective.evaluate_slice(objective.origin, directions, coords)
        explicit = objective.evaluate(objective.origin + coords @ directions)
        torch.testing.assert_close(sliced["loss"], explicit["loss"], rtol=1e-5, atol=1e-6)
    before = objective.evaluate_slice(objective.origin, dirs, coords)["loss"]
    dirs.mul_(2.0)  # the same object, new values
    sliced = objective.evaluate_slice(objective.origin, dirs, coords)
    explicit = objective.evaluate(objective.origin + coords @ dirs)
    torch.testing.assert_close(sliced["loss"], explicit["loss"], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(sliced["loss"], before)
