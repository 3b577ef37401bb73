"""ModelObjective in batches: every value equals the whole-data evaluation (one batch) and the
torch loss on the whole data; a large DataLoader is streamed, never held.

Oracles: the same objective with all data in one batch, torch losses called once on all
samples, a momentum=None train-mode pass over all train data (bn="recompute"), numpy's std.
"""

import math

import numpy as np
import pytest
import torch
from test_model_objective import (
    Custom,
    _randomize_running_stats,
    bn_mlp,
    cnn,
    images,
    load,
    mlp,
    momentum_none_stats,
    random_points,
    random_slice,
    tabular,
)
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from losslab.errors import LosslabError
from losslab.objectives import _data
from losslab.objectives.model import ModelObjective

CASES = {
    "mlp": (mlp, tabular),
    "cnn": (cnn, images),
    "bn_mlp": (bn_mlp, tabular),
    "custom_bn": (lambda: _randomize_running_stats(Custom(bn=True)), tabular),
}
SIZES = (7, 32)  # 90 and 40 samples: neither divides them


def close(a, b, **tolerance):
    tolerance = tolerance or {"rtol": 2e-6, "atol": 1e-6}
    torch.testing.assert_close(a, b, **tolerance)


@pytest.mark.parametrize(
    ("case", "bn"),
    [
        ("mlp", "eval"),
        ("cnn", "eval"),
        ("bn_mlp", "eval"),
        ("bn_mlp", "recompute"),
        ("custom_bn", "eval"),
        ("custom_bn", "recompute"),
    ],
)
def test_batches_equal_the_whole_data(case, bn):
    make_model, make_data = CASES[case]
    data = make_data()
    whole = ModelObjective(make_model(), "cross_entropy", data, bn=bn)
    assert whole.n_batches == 1 and whole.eval_batch_size == len(data[1])
    points = random_points(whole, n=2)
    dirs, coords = random_slice(whole)
    coords = coords[::2]  # 5 of the 9 grid points
    expected = whole.evaluate(points)
    expected_slice = whole.evaluate_slice(whole.origin, dirs, coords)
    values, grads = whole.value_and_grad(points[:1])
    for size in SIZES:
        parts = ModelObjective(make_model(), "cross_entropy", data, bn=bn, eval_batch_size=size)
        assert parts.n_batches == math.ceil(len(data[1]) / size)
        assert len(list(parts.batches())) == parts.n_batches
        got = parts.evaluate(points)
        close(got["loss"], expected["loss"])
        close(got["accuracy"], expected["accuracy"])
        sliced = parts.evaluate_slice(parts.origin, dirs, coords)
        close(sliced["loss"], expected_slice["loss"])
        close(sliced["accuracy"], expected_slice["accuracy"])
        close(parts(points), expected["loss"])
        got_values, got_grads = parts.value_and_grad(points[:1])
        close(got_values, values)
        close(got_grads, grads, rtol=1e-5, atol=1e-6)
        # the batch-sum interface adds up to value()
        terms = sum(
            parts.batch_loss(parts.forward(points[0], b.inputs), b) for b in parts.batches()
        )
        close(terms, parts.value(points[0]))


def test_the_fast_path_stays_with_several_batches_and_forced_slice_pieces():
    model, data = cnn(), images()
    whole = ModelObjective(model, "cross_entropy", data)
    parts = ModelObjective(model, "cross_entropy", data, eval_batch_size=9, workers=2)
    assert parts.fast_path and parts.n_batches == 5
    dirs, coords = random_slice(whole)
    for trick in (True, False):
        whole._fast.slice_trick = parts._fast.slice_trick = trick
        a = whole.evaluate_slice(whole.origin, dirs, coords)
        b = parts.evaluate_slice(parts.origin, dirs, coords)
        close(b["loss"], a["loss"])
        close(b["accuracy"], a["accuracy"])


def test_several_batches_without_kept_inputs_give_the_same_values():
    # With several batches the prepared inputs are made again on each call (kept only for
    # data of one batch): the values are those of one batch, call after call.
    model, data = cnn(), images()
    whole = ModelObjective(model, "cross_entropy", data)
    parts = ModelObjective(model, "cross_entropy", data, eval_batch_size=9)
    points = random_points(whole, n=2)
    parts.evaluate(points)
    assert parts._prepared == {}
    close(parts.evaluate(points)["loss"], whole.evaluate(points)["loss"])


def test_loss_reductions_and_weights_equal_torch_on_the_whole_data():
    x, y = tabular()
    generator = torch.Generator().manual_seed(5)
    w = torch.rand(90, generator=generator)
    class_weight = torch.tensor([0.2, 1.0, 3.0])
    ignored = y.clone()
    ignored[::9] = -100
    model = mlp()
    with torch.no_grad():
        outputs = model.eval()(x)
    per_sample = nn.functional.cross_entropy(outputs, y, reduction="none")
    cases = [
        ("cross_entropy", (x, y), nn.functional.cross_entropy(outputs, y)),
        (nn.CrossEntropyLoss(reduction="sum"), (x, y), per_sample.sum()),
        (
            nn.CrossEntropyLoss(weight=class_weight, ignore_index=-100),
            (x, ignored),
            nn.CrossEntropyLoss(weight=class_weight)(outputs, ignored),
        ),
        ("cross_entropy", (x, y, w), (w * per_sample).sum() / w.sum()),
        (nn.CrossEntropyLoss(reduction="sum"), (x, y, w), (w * per_sample).sum()),
    ]
    for loss, data, expected in cases:
        for size in (None, 7, 16):
            objective = ModelObjective(model, loss, data, eval_batch_size=size)
            close(objective(objective.origin), expected, rtol=1e-5, atol=1e-6)
            close(objective.evaluate(objective.origin)["loss"], expected, rtol=1e-5, atol=1e-6)
    # weighted accuracy: sum w_i correct_i / sum w_i
    objective = ModelObjective(model, "cross_entropy", (x, y, w), eval_batch_size=16)
    hits = (outputs.argmax(1) == y).float()
    close(objective.evaluate(objective.origin)["accuracy"], (w * hits).sum() / w.sum())
    # regression with a sum: the module on all samples at once
    torch.manual_seed(0)
    reg = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    target = torch.randn(90, 2, generator=generator)
    with torch.no_grad():
        expected = nn.MSELoss(reduction="sum")(reg(x), target)
    objective = ModelObjective(reg, nn.MSELoss(reduction="sum"), (x, target), eval_batch_size=7)
    close(objective(objective.origin), expected, rtol=1e-5, atol=1e-5)


def test_a_plain_callable_loss_is_combined_by_batch_size():
    x, y = tabular()
    model = mlp()

    def mean_loss(outputs, targets):
        return nn.functional.cross_entropy(outputs, targets)

    with torch.no_grad():
        expected = nn.functional.cross_entropy(model.eval()(x), y)
    for size in (None, 7, 16):
        objective = ModelObjective(model, mean_loss, (x, y), eval_batch_size=size)
        close(objective(objective.origin), expected, rtol=1e-5, atol=1e-6)
        close(objective.evaluate(objective.origin)["loss"], expected, rtol=1e-5, atol=1e-6)


def test_standard_errors_over_batches_equal_the_one_batch_formula():
    model, (x, y) = mlp(), tabular(n=90)
    k = 41
    one = ModelObjective(model, "cross_entropy", (x, y), n_samples=k, seed=3)
    points = random_points(one, n=3)
    expected = one.evaluate(points)
    index = torch.randperm(90, generator=torch.Generator().manual_seed(3))[:k]
    with torch.no_grad():
        outputs = load(model, one.layout, points[0])(x[index])
    losses = nn.functional.cross_entropy(outputs, y[index], reduction="none").numpy()
    se = np.std(losses.astype(np.float64), ddof=1) / np.sqrt(k) * np.sqrt(1 - k / 90)
    for size in (1, 6, 40):
        parts = ModelObjective(
            model, "cross_entropy", (x, y), n_samples=k, seed=3, eval_batch_size=size
        )
        got = parts.evaluate(points)
        for key in ("loss", "accuracy", "loss_se", "accuracy_se"):
            close(got[key], expected[key], rtol=1e-5, atol=1e-7)
        assert float(got["loss_se"][0]) == pytest.approx(se, rel=1e-5)
    # a total loss on a subset estimates the whole data's sum, N / k times the subset's sum
    total = ModelObjective(
        model, nn.CrossEntropyLoss(reduction="sum"), (x, y), n_samples=k, seed=3, eval_batch_size=6
    )
    got = total.evaluate(points[:1])
    assert float(got["loss"][0]) == pytest.approx(90 / k * losses.sum(), rel=1e-5)
    assert float(got["loss_se"][0]) == pytest.approx(90 * se, rel=1e-5)


@pytest.mark.parametrize("case", ["bn_mlp", "cnn", "custom_bn"])
def test_recompute_over_several_train_batches_is_the_full_batch_statistics(case):
    make_model, make_data = CASES[case] if case != "cnn" else (cnn, images)
    model, (x, y) = make_model(), make_data(seed=0)
    train_x, train_y = make_data(n=70, seed=1)
    objective = ModelObjective(
        model,
        "cross_entropy",
        (x, y),
        bn="recompute",
        train_data=(train_x, train_y),
        eval_batch_size=8,
    )
    assert objective._statistics is not None  # 70 train samples in batches of 8
    points = random_points(objective, n=2)
    result = objective.evaluate(points)
    for i, point in enumerate(points):
        reference = momentum_none_stats(model, objective.layout, point, train_x)
        with torch.no_grad():
            expected = nn.functional.cross_entropy(reference(x), y)
        close(result["loss"][i], expected, rtol=1e-5, atol=1e-6)
    one = ModelObjective(
        model, "cross_entropy", (x, y), bn="recompute", train_data=(train_x, train_y)
    )
    _, grads = one.value_and_grad(points)
    _, got = objective.value_and_grad(points)
    close(got, grads, rtol=1e-4, atol=1e-6)


class CountingDataset(Dataset):
    """A map-style data set that counts reads of its samples."""

    def __init__(self, x, y, w=None):
        self.x, self.y, self.w, self.reads = x, y, w, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.reads += 1
        if self.w is None:
            return self.x[i], self.y[i]
        return self.x[i], self.y[i], self.w[i]


@pytest.mark.parametrize("case", ["mlp", "custom_bn"])
def test_a_large_dataloader_is_streamed_not_held(monkeypatch, case):
    monkeypatch.setattr(_data, "MATERIALIZE_BYTES", 0)  # every loader counts as large
    make_model, make_data = CASES[case]
    x, y = make_data()
    dataset = CountingDataset(x, y)
    loader = DataLoader(dataset, batch_size=16, shuffle=True)
    streamed = ModelObjective(make_model(), "cross_entropy", loader, eval_batch_size=32)
    held = ModelObjective(make_model(), "cross_entropy", (x, y))
    assert streamed.streamed and not held.streamed
    assert streamed._x is None and streamed._y is None
    held_tensors = [v for v in vars(streamed).values() if isinstance(v, torch.Tensor)]
    assert all(t.shape[:1] != (len(x),) for t in held_tensors)
    points = random_points(held, n=3)
    before = dataset.reads
    got = streamed.evaluate(points)
    assert dataset.reads - before == len(x)  # one pass over the dataset per call
    expected = held.evaluate(points)
    close(got["loss"], expected["loss"])
    close(got["accuracy"], expected["accuracy"])
    streamed.evaluate(points)
    assert dataset.reads - before == 2 * len(x)  # read again: nothing was kept
    close(streamed(points[0]), held(points[0]))
    dirs, coords = random_slice(held)
    close(
        streamed.evaluate_slice(streamed.origin, dirs, coords)["loss"],
        held.evaluate_slice(held.origin, dirs, coords)["loss"],
    )
    # a shuffled loader is read in order: the same objective every time
    again = ModelObjective(make_model(), "cross_entropy", loader, eval_batch_size=32)
    assert again.describe()["data"]["fingerprint"] == streamed.describe()["data"]["fingerprint"]
    assert streamed.describe()["data"]["streamed"] is True


def test_a_streamed_subset_and_weights_equal_tensors(monkeypatch):
    monkeypatch.setattr(_data, "MATERIALIZE_BYTES", 0)
    x, y = tabular()
    loader = DataLoader(CountingDataset(x, y), batch_size=10)
    streamed = ModelObjective(mlp(), "cross_entropy", loader, n_samples=30, seed=2)
    held = ModelObjective(mlp(), "cross_entropy", (x, y), n_samples=30, seed=2)
    points = random_points(held, n=2)
    a, b = streamed.evaluate(points), held.evaluate(points)
    for key in b:
        close(a[key], b[key])
    w = torch.rand(90, generator=torch.Generator().manual_seed(0))
    weighted = ModelObjective(
        mlp(),
        "cross_entropy",
        DataLoader(CountingDataset(x, y, w), batch_size=10),
        eval_batch_size=25,
    )
    close(weighted(points[0]), ModelObjective(mlp(), "cross_entropy", (x, y, w))(points[0]))


def test_a_small_dataloader_is_read_once_in_order():
    x, y = tabular()
    dataset = CountingDataset(x, y)
    shuffled = DataLoader(dataset, batch_size=16, shuffle=True)
    objective = ModelObjective(mlp(), "cross_entropy", shuffled)
    reads = dataset.reads
    objective.evaluate(random_points(objective, n=2))
    assert dataset.reads == reads and not objective.streamed
    torch.testing.assert_close(objective._x, x)  # in the dataset's order, not the shuffle's


def test_batch_size_is_chosen_from_the_memory_budget(monkeypatch):
    x, y = tabular()
    small = ModelObjective(mlp(), "cross_entropy", (x, y))
    assert small.n_batches == 1
    monkeypatch.setenv("LOSSLAB_MEMORY_BYTES", str(8 * 400 * 8))  # room for a few samples
    tight = ModelObjective(mlp(), "cross_entropy", (x, y), workers=1)
    assert 1 <= tight.eval_batch_size < 90 and tight.n_batches > 1
    close(tight(tight.origin), small(small.origin))
    described = tight.describe()
    assert described["eval_batch_size"] == tight.eval_batch_size
    assert described["n_batches"] == tight.n_batches
    assert f"batches={tight.n_batches}x{tight.eval_batch_size}" in repr(tight)
    assert "\n" not in repr(tight) and len(repr(tight)) < 200


def test_refusals_are_one_line_naming_the_value_and_what_is_allowed():
    x, y = tabular()
    w = torch.rand(90)
    cases = [
        (dict(eval_batch_size=0), (x, y), "cross_entropy", "eval_batch_size"),
        (dict(n_samples=10), (x, y, w), "cross_entropy", "n_samples == 10 with per-sample"),
        ({}, (x, y, w), lambda o, t: nn.functional.cross_entropy(o, t), "per-sample weights"),
        ({}, (x, y, torch.zeros(90)), "cross_entropy", "weight"),
        ({}, {"x": x, "y": y}, "cross_entropy", "dict with keys 'x', 'y'"),
        ({}, "data.npz", "cross_entropy", "str"),
    ]
    for kwargs, data, loss, words in cases:
        with pytest.raises(LosslabError, match=words) as info:
            ModelObjective(mlp(), loss, data, **kwargs)
        assert "\n" not in str(info.value)


def test_mixed_weighted_and_unweighted_batches_are_refused(monkeypatch):
    monkeypatch.setattr(_data, "MATERIALIZE_BYTES", 0)
    x, y = tabular()

    class Mixed(CountingDataset):
        def __getitem__(self, i):
            return (self.x[i], self.y[i]) if i < 40 else (self.x[i], self.y[i], 1.0)

    def collate(items):
        return tuple(torch.stack([torch.as_tensor(v) for v in z]) for z in zip(*items, strict=True))

    loader = DataLoader(Mixed(x, y), batch_size=20, collate_fn=collate)
    with pytest.raises(LosslabError, match="some batches have per-sample weights") as info:
        ModelObjective(mlp(), "cross_entropy", loader)
    assert "\n" not in str(info.value)


def test_a_tensor_dataset_loader_and_its_tensors_fingerprint_alike():
    x, y = tabular()
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    a = ModelObjective(mlp(), "cross_entropy", loader, eval_batch_size=7)
    b = ModelObjective(mlp(), "cross_entropy", (x, y))
    assert a.describe()["data"]["fingerprint"] == b.describe()["data"]["fingerprint"]
    close(a(a.origin), b(b.origin))


def test_a_tensor_dataset_loader_holds_no_copy_of_its_tensors(monkeypatch):
    # Its tensors are the data already: the objective reads them in place, whatever their
    # size (a copy would make memory grow with the data), and gives the values of tensors.
    monkeypatch.setattr(_data, "MATERIALIZE_BYTES", 0)  # would stream any other dataset
    x, y = tabular()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    objective = ModelObjective(mlp(), "cross_entropy", loader, eval_batch_size=7)
    assert not objective.streamed
    assert objective._x.data_ptr() == x.data_ptr()
    reference = ModelObjective(mlp(), "cross_entropy", (x, y))
    points = reference.origin + 0.1 * torch.randn(3, reference.n_params)
    close(objective.evaluate(points)["loss"], reference.evaluate(points)["loss"])
