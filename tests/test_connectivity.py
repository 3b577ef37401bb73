"""Connectivity: linear paths and Bezier curves between two models, checked against the models
evaluated directly with torch (endpoints, hand-set midpoints, BatchNorm statistics of a
train-mode pass), the barrier formula by hand, seeding, and the codec."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import losslab as ll
from losslab.connectivity import Path, bezier, linear_path
from losslab.errors import LosslabError

pytestmark = pytest.mark.usefixtures("one_thread")


def direct(model: nn.Module, X, y) -> tuple[float, float]:
    """(loss, accuracy) of the model itself in eval mode: the oracle."""
    model = copy.deepcopy(model).eval()
    with torch.no_grad():
        logits = model(X)
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())


def set_to(model: nn.Module, vector: torch.Tensor) -> nn.Module:
    """A copy of `model` whose parameters are set by hand from a flat vector."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        start = 0
        for p in model.parameters():
            p.copy_(vector[start : start + p.numel()].reshape(p.shape))
            start += p.numel()
    return model


def blobs(n=96, d=5, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centres = torch.randn(classes, d, generator=g) * 2
    return centres[y] + torch.randn(n, d, generator=g), y


def mlp(seed: int, *, batch_norm: bool = False, d=5, hidden=8, classes=3) -> nn.Sequential:
    torch.manual_seed(seed)
    return ll.models.mlp(d, classes, hidden=(hidden,), batch_norm=batch_norm)


@pytest.fixture(scope="module")
def trained_pair():
    """Two small nets trained on digits from different seeds: a clear barrier between them."""
    data = ll.data.load_dataset("digits")
    threads = torch.get_num_threads()  # a module fixture runs before `one_thread`
    torch.set_num_threads(1)
    models = []
    try:
        for seed in (0, 1):
            torch.manual_seed(seed)
            model = ll.models.mlp(64, 10, hidden=(32,))
            ll.train(model, data, lr=0.1, epochs=5, seed=seed, record_every=10**6)
            models.append(model)
    finally:
        torch.set_num_threads(threads)
    return (*models, data)


# -- linear_path ------------------------------------------------------------------------------


def test_linear_path_endpoints_equal_each_models_own_loss_and_midpoint_a_hand_set_model():
    X, y = blobs()
    model_a, model_b = mlp(0), mlp(1)
    path = linear_path(model_a, model_b, "cross_entropy", (X, y), n_points=5)
    assert path.kind == "linear" and path.bn == "none" and path.n_points == 5
    assert torch.equal(path.t, torch.linspace(0, 1, 5, dtype=torch.float64))
    for index, model in ((0, model_a), (-1, model_b)):
        loss, accuracy = direct(model, X, y)
        assert path.values["loss"][index].item() == pytest.approx(loss, rel=1e-5)
        assert path.values["accuracy"][index].item() == pytest.approx(accuracy, abs=1e-6)
    a, b = ll.params.model_vector(model_a), ll.params.model_vector(model_b)
    midpoint = set_to(model_a, (a + b) / 2)  # t = 0.5 is the third of 5 points
    loss, accuracy = direct(midpoint, X, y)
    assert path.values["loss"][2].item() == pytest.approx(loss, rel=1e-5)
    assert path.values["accuracy"][2].item() == pytest.approx(accuracy, abs=1e-6)
    assert torch.equal(path.anchors, torch.stack([a, b]))
    assert torch.allclose(path.point(0.25), 0.75 * a + 0.25 * b)


def test_linear_path_leaves_both_models_untouched():
    X, y = blobs()
    model_a, model_b = mlp(0, batch_norm=True), mlp(1, batch_norm=True)
    model_a.train()
    before = [copy.deepcopy(m.state_dict()) for m in (model_a, model_b)]
    linear_path(model_a, model_b, "cross_entropy", (X, y), n_points=3)
    linear_path(model_a, model_b, "cross_entropy", (X, y), n_points=3, bn="eval")
    for model, state in zip((model_a, model_b), before, strict=True):
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert model_a.training and model_b.training


def test_the_barrier_of_a_model_with_itself_is_zero():
    X, y = blobs()
    model = mlp(3)
    path = linear_path(model, model, "cross_entropy", (X, y), n_points=7)
    assert abs(path.barrier["loss"]) < 1e-12
    assert path.barrier["accuracy"] == 0.0
    assert torch.equal(path.values["loss"], path.values["loss"][0].expand(7))


def test_the_barrier_is_the_largest_gap_to_the_line_between_the_ends(trained_pair):
    model_a, model_b, data = trained_pair
    path = linear_path(model_a, model_b, "cross_entropy", data, n_points=9)
    t = path.t.tolist()
    loss, acc = path.values["loss"].tolist(), path.values["accuracy"].tolist()
    by_hand_loss = max(loss[i] - ((1 - t[i]) * loss[0] + t[i] * loss[-1]) for i in range(9))
    by_hand_acc = max((1 - t[i]) * acc[0] + t[i] * acc[-1] - acc[i] for i in range(9))
    assert path.barrier["loss"] == pytest.approx(by_hand_loss, abs=1e-12)
    assert path.barrier["accuracy"] == pytest.approx(by_hand_acc, abs=1e-12)
    assert path.barrier["loss"] > 0.1  # two independent runs: the line climbs between them
    assert torch.allclose(path.excess("loss").max(), torch.tensor(by_hand_loss).double())


def train_mode_statistics_model(model: nn.Module, X) -> nn.Module:
    """The oracle of bn="recompute": BatchNorm running statistics from one full-batch
    train-mode pass with momentum=None (a cumulative average of one batch: that batch's
    mean and unbiased variance), then eval mode."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model(X)
    return model.eval()


def bn_pair(X, y):
    """Two BatchNorm MLPs trained a little, so their running statistics are not the data's."""
    pair = []
    for seed in (0, 1):
        model = mlp(seed, batch_norm=True)
        ll.train(model, (X, y), lr=0.05, epochs=2, batch_size=16, seed=seed, record_every=100)
        pair.append(model)
    return pair


def test_batchnorm_recompute_uses_the_statistics_of_a_train_mode_pass():
    X, y = blobs()
    model_a, model_b = bn_pair(X, y)
    path = linear_path(model_a, model_b, "cross_entropy", (X, y), n_points=3)
    assert path.bn == "recompute"
    a, b = ll.params.model_vector(model_a), ll.params.model_vector(model_b)
    for index, vector in ((0, a), (1, (a + b) / 2), (2, b)):
        oracle = train_mode_statistics_model(set_to(model_a, vector), X)
        loss, accuracy = direct(oracle, X, y)
        assert path.values["loss"][index].item() == pytest.approx(loss, rel=1e-5)
        assert path.values["accuracy"][index].item() == pytest.approx(accuracy, abs=1e-6)
    running, _ = direct(model_a, X, y)  # the running statistics give another loss
    assert abs(path.values["loss"][0].item() - running) > 1e-4


def test_batchnorm_eval_interpolates_the_two_models_running_statistics():
    X, y = blobs()
    model_a, model_b = bn_pair(X, y)
    path = linear_path(model_a, model_b, "cross_entropy", (X, y), n_points=3, bn="eval")
    assert path.bn == "eval"
    for index, model in ((0, model_a), (2, model_b)):
        assert path.values["loss"][index].item() == pytest.approx(direct(model, X, y)[0], rel=1e-5)
    a, b = ll.params.model_vector(model_a), ll.params.model_vector(model_b)
    midpoint = set_to(model_a, (a + b) / 2)
    buffers_b = dict(model_b.named_buffers())
    with torch.no_grad():
        for name, buffer in midpoint.named_buffers():
            if buffer.is_floating_point():
                buffer.copy_((buffer + buffers_b[name]) / 2)
    assert path.values["loss"][1].item() == pytest.approx(direct(midpoint, X, y)[0], rel=1e-5)


def test_mismatched_models_are_refused_in_one_line():
    X, y = blobs()
    cases = [
        (mlp(0, hidden=8), mlp(1, hidden=9), "'0.weight' is (8, 5) in model_a, (9, 5)"),
        (mlp(0), nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)), "ReLU vs Tanh"),
        (mlp(0), nn.Sequential(nn.Linear(5, 3)), "(75 vs 18 parameters)"),
        (mlp(0), mlp(1).double(), "torch.float32"),
    ]
    for model_a, model_b, phrase in cases:
        for function in (linear_path, bezier):
            kwargs = {"epochs": 1, "lr": 0.1, "seed": 0} if function is bezier else {}
            with pytest.raises(LosslabError) as error:
                function(model_a, model_b, "cross_entropy", (X, y), **kwargs)
            message = str(error.value)
            assert phrase in message and "\n" not in message, message
    frozen_a, frozen_b = mlp(0), mlp(1)
    for model in (frozen_a, frozen_b):
        model[0].bias.requires_grad_(False)
    with pytest.raises(LosslabError, match="frozen parameter '0.bias'"):
        linear_path(frozen_a, frozen_b, "cross_entropy", (X, y))
    with pytest.raises(LosslabError, match="n_points == 1"):
        linear_path(mlp(0), mlp(1), "cross_entropy", (X, y), n_points=1)
    with pytest.raises(LosslabError, match="bn == 'train'"):
        linear_path(mlp(0), mlp(1), "cross_entropy", (X, y), bn="train")


# -- bezier -----------------------------------------------------------------------------------


def test_bezier_endpoints_equal_the_models_and_its_points_hand_set_models():
    X, y = blobs()
    model_a, model_b = mlp(0), mlp(1)
    before = [copy.deepcopy(m.state_dict()) for m in (model_a, model_b)]
    curve = bezier(model_a, model_b, "cross_entropy", (X, y), epochs=3, lr=0.1, seed=0, n_points=5)
    assert curve.kind == "bezier" and curve.anchors.shape == (3, curve.layout.n_params)
    assert curve.train_loss.shape == (3,) and curve.settings["steps"] == 3 * 2
    for index, model in ((0, model_a), (-1, model_b)):
        loss, accuracy = direct(model, X, y)
        assert curve.values["loss"][index].item() == pytest.approx(loss, rel=1e-5)
        assert curve.values["accuracy"][index].item() == pytest.approx(accuracy, abs=1e-6)
    a, b, c = curve.anchors
    by_hand = 0.0625 * a + 0.375 * c + 0.5625 * b  # t = 0.75: (1-t)^2, 2t(1-t), t^2
    assert torch.allclose(curve.point(0.75), by_hand, atol=1e-6)
    loss, _ = direct(set_to(model_a, curve.point(0.75)), X, y)
    assert curve.values["loss"][3].item() == pytest.approx(loss, rel=1e-5)
    assert not torch.equal(c, (a + b) / 2)  # the control point moved
    for model, state in zip((model_a, model_b), before, strict=True):
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_bezier_is_seeded():
    X, y = blobs()
    model_a, model_b = mlp(0), mlp(1)
    args = (model_a, model_b, "cross_entropy", (X, y))
    first = bezier(*args, epochs=2, lr=0.1, seed=5, n_points=3)
    again = bezier(*args, epochs=2, lr=0.1, seed=5, n_points=3)
    other = bezier(*args, epochs=2, lr=0.1, seed=6, n_points=3)
    assert torch.equal(first.control, again.control)
    assert torch.equal(first.train_loss, again.train_loss)
    assert not torch.equal(first.control, other.control)


def test_bezier_lowers_the_barrier_of_two_independently_trained_nets(trained_pair):
    model_a, model_b, data = trained_pair
    line = linear_path(model_a, model_b, "cross_entropy", data, n_points=11)
    curve = bezier(model_a, model_b, "cross_entropy", data, epochs=5, lr=0.05, seed=0, n_points=11)
    assert curve.barrier["loss"] < 0.5 * line.barrier["loss"], (curve, line)
    assert curve.train_loss[-1] < curve.train_loss[0]  # training the control point worked


def test_bezier_trains_batchnorm_models_and_accepts_a_dataloader_and_adam():
    X, y = blobs()
    model_a, model_b = bn_pair(X, y)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=False)
    curve = bezier(
        model_a,
        model_b,
        "cross_entropy",
        loader,
        epochs=2,
        lr=0.01,
        seed=0,
        n_points=3,
        optimizer="adam",
    )
    assert curve.bn == "recompute" and curve.settings["steps"] == 2 * 3
    assert curve.settings["optimizer"] == "adam" and torch.isfinite(curve.train_loss).all()
    oracle = train_mode_statistics_model(model_a, X)
    assert curve.values["loss"][0].item() == pytest.approx(direct(oracle, X, y)[0], rel=1e-5)


def test_bezier_refuses_a_diverging_lr_and_bad_options_in_one_line():
    X, y = blobs()
    targets = X.sum(1, keepdim=True)  # a regression: mse grows without bound at a huge lr
    torch.manual_seed(0)
    line_a, line_b = nn.Linear(5, 1), nn.Linear(5, 1)
    with pytest.raises(LosslabError, match="lower lr") as error:
        bezier(line_a, line_b, "mse", (X, targets), epochs=20, lr=1e6, seed=0)
    assert "\n" not in str(error.value)
    with pytest.raises(LosslabError, match="optimizer == 'lbfgs'"):
        bezier(mlp(0), mlp(1), "cross_entropy", (X, y), epochs=1, lr=0.1, seed=0, optimizer="lbfgs")


# -- the result -------------------------------------------------------------------------------


def test_a_path_saves_and_loads(tmp_path):
    X, y = blobs()
    curve = bezier(mlp(0), mlp(1), "cross_entropy", (X, y), epochs=2, lr=0.1, seed=0, n_points=4)
    for suffix in (".json", ".h5"):
        loaded = ll.load_result(curve.save(tmp_path / f"curve{suffix}"))
        assert isinstance(loaded, Path) and loaded.kind == "bezier"
        assert torch.equal(loaded.anchors, curve.anchors) and torch.equal(loaded.t, curve.t)
        assert loaded.barrier == curve.barrier and loaded.settings == curve.settings
        assert all(torch.equal(loaded.values[k], v) for k, v in curve.values.items())
        assert torch.equal(loaded.train_loss, curve.train_loss)
        assert loaded.layout == curve.layout and loaded.bn == curve.bn
    text = repr(curve)
    assert text.startswith("Path('bezier'") and "loss_barrier=" in text and "epochs=2" in text


def test_a_path_checks_itself():
    t = torch.linspace(0, 1, 3, dtype=torch.float64)
    good = {
        "kind": "linear",
        "t": t,
        "values": {"loss": torch.ones(3)},
        "barrier": {"loss": 0.0},
        "anchors": torch.zeros(2, 4),
        "names": ("w",),
        "shapes": ((4,),),
    }
    Path(**good)
    bad = [
        ({"t": torch.tensor([0.0, 0.7, 0.5, 1.0])}, "t must increase"),
        ({"t": torch.tensor([0.1, 0.5, 1.0])}, "from t=0"),
        ({"values": {"loss": torch.ones(4)}}, "values['loss'] has shape (4,)"),
        ({"anchors": torch.zeros(3, 4)}, "(2, n_params)"),
        ({"kind": "bezier"}, "(3, n_params)"),
        ({"barrier": {"accuracy": 0.0}}, "barrier of ['accuracy']"),
        ({"kind": "spline"}, "kind == 'spline'"),
        ({"values": {"accuracy": torch.ones(3)}, "barrier": {}}, "no 'loss'"),
    ]
    for change, phrase in bad:
        with pytest.raises(LosslabError) as error:
            Path(**{**good, **change})
        assert phrase in str(error.value), str(error.value)


# -- the case: 64-512-512-10 on digits, before and after weight matching ----------------


def test_weight_matching_lowers_the_barrier_between_two_runs_of_a_wide_mlp():
    data = ll.data.load_dataset("digits")
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = ll.models.mlp(64, 10, hidden=(512, 512))
        ll.train(model, data, lr=0.05, momentum=0.9, epochs=3, seed=seed, record_every=10**6)
        models.append(model)
    model_a, model_b = models
    aligned = ll.symmetry.permute(model_b, ll.symmetry.weight_matching(model_a, model_b))
    before = linear_path(model_a, model_b, "cross_entropy", data, n_points=9)
    after = linear_path(model_a, aligned, "cross_entropy", data, n_points=9)
    # the permuted model is the same function: the path's ends agree before and after
    assert after.values["loss"][-1].item() == pytest.approx(
        before.values["loss"][-1].item(), rel=1e-4
    )
    assert after.barrier["loss"] < 0.5 * before.barrier["loss"], (before, after)
    assert after.barrier["accuracy"] <= before.barrier["accuracy"]
