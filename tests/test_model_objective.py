"""ModelObjective: batched and sliced evaluation against a plain per-point loop on a model copy.

The oracle for every value is the obvious slow code: load the point's weights into a deepcopy
of the model (eval mode), run the model on the data, apply the torch loss.
"""

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import losslab as ll
from losslab import optim
from losslab.errors import LosslabError
from losslab.objectives.model import ModelObjective


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 3)
    )


def cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2),
        nn.BatchNorm2d(6),
        nn.GELU(),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(6 * 2 * 2, 3),
    )


def bn_mlp(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(5, 16),
        nn.BatchNorm1d(16),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.3),
        nn.Linear(16, 8),
        nn.BatchNorm1d(8),
        nn.ELU(),
        nn.Linear(8, 3),
    )
    _randomize_running_stats(model)
    return model


class Custom(nn.Module):
    """Not a Sequential: a residual connection, so the general path must be used."""

    def __init__(self, seed=0, bn=False):
        super().__init__()
        torch.manual_seed(seed)
        self.inp = nn.Linear(5, 10)
        self.norm = nn.BatchNorm1d(10) if bn else nn.Identity()
        self.hidden = nn.Linear(10, 10)
        self.out = nn.Linear(10, 3)

    def forward(self, x):
        h = torch.relu(self.norm(self.inp(x)))
        return self.out(h + torch.tanh(self.hidden(h)))


def _randomize_running_stats(model):
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)
            module.bias.data.normal_(0, 0.2, generator=generator)
    return model


def tabular(n=90, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=generator)
    y = torch.randint(0, 3, (n,), generator=generator)
    return x, y


def images(n=40, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, 7, 7, generator=generator)
    y = torch.randint(0, 3, (n,), generator=generator)
    return x, y


def load(model, layout, point):
    """A deepcopy of model with `point`'s weights, in eval mode: the oracle's model."""
    copied = copy.deepcopy(model).eval()
    named = dict(copied.named_parameters())
    with torch.no_grad():
        for name, value in layout.unflatten(point).items():
            named[name].copy_(value)
    return copied


def oracle(model, layout, points, x, y, loss=nn.functional.cross_entropy):
    losses, accuracies = [], []
    with torch.no_grad():
        for point in points:
            outputs = load(model, layout, point)(x)
            losses.append(loss(outputs, y))
            accuracies.append((outputs.argmax(1) == y).float().mean())
    return torch.stack(losses), torch.stack(accuracies)


def random_points(objective, n=5, scale=0.3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, objective.n_params, generator=generator, dtype=objective.dtype)
    return objective.origin + scale * noise


def random_slice(objective, k=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    dirs = 0.2 * torch.randn(k, objective.n_params, generator=generator, dtype=objective.dtype)
    grid = torch.linspace(-1, 1, 3, dtype=objective.dtype)
    coords = torch.cartesian_prod(*[grid] * k).reshape(-1, k)
    return dirs, coords


CASES = {
    "mlp": (mlp, tabular, True),
    "cnn": (cnn, images, True),
    "bn_mlp": (bn_mlp, tabular, True),
    "custom": (Custom, tabular, False),
    "custom_bn": (lambda: _randomize_running_stats(Custom(bn=True)), tabular, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_evaluate_equals_a_per_point_loop(case):
    make_model, make_data, fast = CASES[case]
    model, (x, y) = make_model(), make_data()
    objective = ModelObjective(model, "cross_entropy", (x, y))
    assert objective.fast_path is fast
    assert objective.metrics == ("loss", "accuracy")
    points = random_points(objective)
    result = objective.evaluate(points)
    losses, accuracies = oracle(model, objective.layout, points, x, y)
    torch.testing.assert_close(result["loss"], losses, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result["accuracy"], accuracies)
    assert set(result) == {"loss", "accuracy"}
    # __call__ is the same loss, for a batch and for one point
    torch.testing.assert_close(objective(points), losses, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(objective(points[0]), losses[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_evaluate_slice_equals_evaluate_of_the_points(case):
    make_model, make_data, _ = CASES[case]
    for bn, trick in [("eval", True), ("eval", False), ("recompute", True), ("recompute", None)]:
        objective = ModelObjective(make_model(), "cross_entropy", make_data(), bn=bn)
        if objective.fast_path:  # combine first-layer pieces, or not, or by cost
            objective._fast.slice_trick = trick
        dirs, coords = random_slice(objective)
        sliced = objective.evaluate_slice(objective.origin, dirs, coords)
        explicit = objective.evaluate(objective.origin + coords @ dirs)
        for key in ("loss", "accuracy"):
            torch.testing.assert_close(sliced[key], explicit[key], rtol=1e-5, atol=1e-6)
        # the cached first-layer pieces give the same answer on a second call
        again = objective.evaluate_slice(objective.origin, dirs, coords[:4])
        torch.testing.assert_close(again["loss"], sliced["loss"][:4])


def test_slice_takes_parameter_dicts_and_one_direction():
    model, data = mlp(), tabular()
    objective = ModelObjective(model, "cross_entropy", data)
    dirs, _ = random_slice(objective, k=1)
    coords = torch.linspace(-1, 1, 5)[:, None]
    as_dicts = [objective.layout.unflatten(d) for d in dirs]
    origin = dict(model.named_parameters())
    by_dict = objective.evaluate_slice({k: v.detach() for k, v in origin.items()}, as_dicts, coords)
    by_vector = objective.evaluate(objective.origin + coords @ dirs)
    torch.testing.assert_close(by_dict["loss"], by_vector["loss"], rtol=1e-5, atol=1e-6)


def test_evaluate_takes_one_dict_a_list_of_dicts_or_one_vector():
    model, data = mlp(), tabular()
    objective = ModelObjective(model, "cross_entropy", data)
    points = objective.origin + 0.1 * torch.randn(3, objective.n_params)
    by_vector = objective.evaluate(points)
    by_dicts = objective.evaluate([objective.layout.unflatten(p) for p in points])
    one = objective.evaluate(objective.layout.unflatten(points[1]))
    one_vector = objective.evaluate(points[1])
    for metric in objective.metrics:
        torch.testing.assert_close(by_dicts[metric], by_vector[metric])
        assert one[metric].shape == () and one_vector[metric].shape == ()
        torch.testing.assert_close(one[metric], by_vector[metric][1])
        torch.testing.assert_close(one_vector[metric], by_vector[metric][1])


def test_one_worker_and_several_agree():
    model, data = cnn(), images()
    one = ModelObjective(model, "cross_entropy", data, workers=1)
    two = ModelObjective(model, "cross_entropy", data, workers=3, chunk_size=4)
    dirs, coords = random_slice(one)
    a = one.evaluate_slice(one.origin, dirs, coords)
    b = two.evaluate_slice(two.origin, dirs, coords)
    torch.testing.assert_close(a["loss"], b["loss"], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(a["accuracy"], b["accuracy"])


def test_the_model_is_never_changed():
    for model, data in [(bn_mlp(), tabular()), (Custom(bn=True), tabular()), (cnn(), images())]:
        model.train()  # a training model: its dropout and batch statistics must stay untouched
        state = copy.deepcopy(model.state_dict())
        objective = ModelObjective(model, "cross_entropy", data, bn="recompute")
        points = random_points(objective, n=3)
        objective.evaluate(points)
        dirs, coords = random_slice(objective)
        objective.evaluate_slice(objective.origin, dirs, coords)
        objective(points)
        objective.value_and_grad(points[:2])
        ModelObjective(model, "cross_entropy", data).evaluate(points)
        assert model.training and all(m.training for m in model.modules())
        after = model.state_dict()
        assert state.keys() == after.keys()
        for key in state:
            assert torch.equal(state[key], after[key]), key
        assert all(p.grad is None for p in model.parameters())


def momentum_none_stats(model, layout, point, train_x):
    """The oracle for bn='recompute': a copy whose BatchNorm layers ran one full-batch
    train-mode pass with momentum=None over train_x at `point`, then put in eval mode."""
    copied = load(model, layout, point)
    for module in copied.modules():
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
            module.train()
    with torch.no_grad():
        copied(train_x)
    return copied.eval()


@pytest.mark.parametrize("case", ["bn_mlp", "cnn", "custom_bn"])
def test_recompute_uses_the_running_stats_of_a_momentum_none_pass(case):
    make_model, make_data, _ = CASES[case]
    model, (x, y) = make_model(), make_data(seed=0)
    train_x, _ = make_data(n=70, seed=1)
    objective = ModelObjective(
        model, "cross_entropy", (x, y), bn="recompute", train_data=(train_x, _)
    )
    plain = ModelObjective(model, "cross_entropy", (x, y), bn="eval")
    points = random_points(objective, n=3)
    result = objective.evaluate(points)
    for i, point in enumerate(points):
        reference = momentum_none_stats(model, objective.layout, point, train_x)
        with torch.no_grad():
            outputs = reference(x)
        expected = nn.functional.cross_entropy(outputs, y)
        torch.testing.assert_close(result["loss"][i], expected, rtol=1e-5, atol=1e-6)
    # the recomputed statistics differ from the model's (randomized) running ones
    assert not torch.allclose(result["loss"], plain.evaluate(points)["loss"], rtol=1e-3)


def test_only_batchnorm_statistics_differ_between_modes():
    # No BatchNorm: the modes are the same function.
    data = tabular()
    eval_mode = ModelObjective(mlp(), "cross_entropy", data, bn="eval")
    recompute = ModelObjective(mlp(), "cross_entropy", data, bn="recompute")
    points = random_points(eval_mode)
    torch.testing.assert_close(
        eval_mode.evaluate(points)["loss"], recompute.evaluate(points)["loss"]
    )
    # With BatchNorm and Dropout: give the model the running statistics a momentum=None pass
    # would leave at its own weights; then eval mode at the origin equals recompute there,
    # so dropout (off in both) and every other layer are treated alike.
    model = bn_mlp()
    layout = ll.objectives.model.ParamLayout.of(model)
    synced = momentum_none_stats(model, layout, ll.params.model_vector(model), data[0])
    synced.train()  # a training-mode model: its dropout must still be off in both modes
    a = ModelObjective(synced, "cross_entropy", data, bn="eval")
    b = ModelObjective(synced, "cross_entropy", data, bn="recompute")
    torch.testing.assert_close(a(a.origin), b(b.origin), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        a.evaluate(a.origin[None])["accuracy"], b.evaluate(b.origin[None])["accuracy"]
    )


def test_recompute_gradient_goes_through_the_statistics():
    for model in (bn_mlp(), _randomize_running_stats(Custom(bn=True))):
        objective = ModelObjective(model, "cross_entropy", tabular(), bn="recompute")
        point = objective.origin.to(torch.float64)
        _, grads = objective.value_and_grad(point[None])
        # central differences in float64 on a float32 model: a loose but real check
        generator = torch.Generator().manual_seed(0)
        direction = torch.randn(objective.n_params, generator=generator, dtype=torch.float64)
        direction /= direction.norm()
        h = 1e-2
        numeric = (objective(point + h * direction) - objective(point - h * direction)) / (2 * h)
        assert float(grads[0] @ direction) == pytest.approx(float(numeric), rel=2e-2, abs=2e-3)


def test_subset_standard_errors_equal_numpy():
    model, (x, y) = mlp(), tabular(n=90)
    k = 40
    objective = ModelObjective(model, "cross_entropy", (x, y), n_samples=k, seed=3)
    points = random_points(objective, n=3)
    result = objective.evaluate(points)
    assert set(result) == {"loss", "accuracy", "loss_se", "accuracy_se"}
    index = torch.randperm(90, generator=torch.Generator().manual_seed(3))[:k]
    fpc = math.sqrt(1 - k / 90)
    for i, point in enumerate(points):
        with torch.no_grad():
            outputs = load(model, objective.layout, point)(x[index])
        losses = nn.functional.cross_entropy(outputs, y[index], reduction="none").numpy()
        correct = (outputs.argmax(1) == y[index]).float().numpy()
        assert float(result["loss"][i]) == pytest.approx(losses.mean(), rel=1e-5)
        se = np.std(losses, ddof=1) / np.sqrt(k) * fpc
        assert float(result["loss_se"][i]) == pytest.approx(se, rel=1e-4)
        acc_se = np.std(correct, ddof=1) / np.sqrt(k) * fpc
        assert float(result["accuracy_se"][i]) == pytest.approx(acc_se, rel=1e-4, abs=1e-7)
    # the same seed is the same subset; the whole data has no sampling error
    again = ModelObjective(model, "cross_entropy", (x, y), n_samples=k, seed=3)
    torch.testing.assert_close(again.evaluate(points)["loss"], result["loss"])
    whole = ModelObjective(model, "cross_entropy", (x, y), n_samples=90)
    assert torch.all(whole.evaluate(points)["loss_se"] == 0)
    # slices report the same standard errors
    dirs, coords = random_slice(objective)
    sliced = objective.evaluate_slice(objective.origin, dirs, coords)
    explicit = objective.evaluate(objective.origin + coords @ dirs)
    torch.testing.assert_close(sliced["loss_se"], explicit["loss_se"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shape", ["(N, 1)", "(N,)"])
def test_bce_matches_torch_bce_with_logits(shape):
    torch.manual_seed(0)
    layers = [nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1)]
    model = nn.Sequential(*layers, nn.Flatten(0)) if shape == "(N,)" else nn.Sequential(*layers)
    x, _ = tabular()
    y = (x[:, 0] > 0).float()
    objective = ModelObjective(model, "bce", (x, y))
    assert objective.metrics == ("loss", "accuracy")
    points = random_points(objective, n=3, scale=3.0)  # large logits: must stay finite
    result = objective.evaluate(points)
    reference = nn.BCEWithLogitsLoss()
    for i, point in enumerate(points):
        with torch.no_grad():
            logits = load(model, objective.layout, point)(x).reshape(-1)
        expected = reference(logits, y)
        torch.testing.assert_close(result["loss"][i], expected, rtol=1e-5, atol=1e-6)
        accuracy = ((logits > 0).float() == y).float().mean()
        torch.testing.assert_close(result["accuracy"][i], accuracy)
    assert torch.isfinite(objective(100 * objective.origin))
    module = ModelObjective(model, nn.BCEWithLogitsLoss(), (x, y))
    torch.testing.assert_close(module.evaluate(points)["loss"], result["loss"])


def test_torch_loss_modules_and_callables_give_the_torch_mean():
    x, y = tabular()
    weight = torch.tensor([0.2, 1.0, 3.0])
    y_ignored = y.clone()
    y_ignored[:7] = -100
    cases = [
        (mlp(), nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1), y),
        (mlp(), nn.CrossEntropyLoss(weight=weight), y_ignored),
        (nn.Sequential(mlp(), nn.LogSoftmax(dim=1)), nn.NLLLoss(), y),
        (mlp(), lambda out, target: nn.functional.cross_entropy(out, target) ** 2, y),
    ]
    for model, loss, target in cases:
        objective = ModelObjective(model, loss, (x, target))
        with torch.no_grad():
            expected = loss(model.eval()(x), target)
        torch.testing.assert_close(objective(objective.origin), expected, rtol=1e-5, atol=1e-6)
        assert objective.evaluate(objective.origin[None])["loss"].shape == (1,)
    # regression: MSE with (N, 1) outputs and (N,) targets means element for element
    torch.manual_seed(0)
    reg = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 1))
    target = x[:, 1] * 2
    for loss in ("mse", nn.MSELoss(), nn.L1Loss()):
        objective = ModelObjective(reg, loss, (x, target))
        assert objective.metrics == ("loss",)
        with torch.no_grad():
            fn = nn.L1Loss() if isinstance(loss, nn.L1Loss) else nn.MSELoss()
            expected = fn(reg(x)[:, 0], target)
        torch.testing.assert_close(objective(objective.origin), expected, rtol=1e-5, atol=1e-6)


def test_a_dataloader_is_read_once_into_tensors():
    x, y = tabular()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=False)
    a = ModelObjective(mlp(), "cross_entropy", loader)
    b = ModelObjective(mlp(), "cross_entropy", (x, y))
    torch.testing.assert_close(a(a.origin), b(b.origin))
    assert a.describe()["data"]["fingerprint"] == b.describe()["data"]["fingerprint"]


def test_bad_input_gives_one_clear_error():
    x, y = tabular()
    bad = x.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(LosslabError, match="NaN"):
        ModelObjective(mlp(), "cross_entropy", (bad, y))
    bad[3, 2] = float("inf")
    with pytest.raises(LosslabError, match="infinite"):
        ModelObjective(mlp(), "cross_entropy", (bad, y))
    with pytest.raises(LosslabError, match="90 samples but y has 80"):
        ModelObjective(mlp(), "cross_entropy", (x, y[:80]))
    with pytest.raises(LosslabError, match="n_samples == 100"):
        ModelObjective(mlp(), "cross_entropy", (x, y), n_samples=100)
    with pytest.raises(LosslabError, match="plain callable"):
        ModelObjective(mlp(), lambda o, t: nn.functional.cross_entropy(o, t), (x, y), n_samples=5)
    with pytest.raises(LosslabError, match="loss_fn == 'hinge'"):
        ModelObjective(mlp(), "hinge", (x, y))
    with pytest.raises(LosslabError, match="bn == 'train'"):
        ModelObjective(mlp(), "cross_entropy", (x, y), bn="train")
    with pytest.raises(LosslabError, match="cannot run on data"):
        ModelObjective(mlp(), "cross_entropy", (x[:, :4], y))
    with pytest.raises(LosslabError, match="accuracy"):
        ModelObjective(mlp(), "mse", (x, torch.randn(90, 3)), metrics=["loss", "accuracy"])
    odd = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4, track_running_stats=False))
    with pytest.raises(LosslabError, match="recompute"):
        ModelObjective(odd, "cross_entropy", (x, y), bn="recompute")
    with pytest.raises(LosslabError, match=r"targets in \[0, 1\]"):
        ModelObjective(nn.Sequential(nn.Linear(5, 1)), "bce", (x, y.float()))
    with pytest.raises(LosslabError, match="n_params"):
        ModelObjective(mlp(), "cross_entropy", (x, y)).evaluate(torch.zeros(2, 7))


def test_descend_equals_full_batch_torch_sgd():
    model, (x, y) = mlp(), tabular()
    objective = ModelObjective(model, "cross_entropy", (x, y))
    trajectory = ll.descend(objective, optim.gd(0.5), objective.origin, 8, tol=0.0)
    copied = copy.deepcopy(model).eval()
    sgd = torch.optim.SGD(copied.parameters(), lr=0.5)
    for step in range(9):
        vector = ll.params.model_vector(copied)
        torch.testing.assert_close(trajectory.params[step], vector, rtol=1e-5, atol=1e-6)
        sgd.zero_grad()
        loss = nn.functional.cross_entropy(copied(x), y)
        torch.testing.assert_close(trajectory.losses[step], loss.detach(), rtol=1e-5, atol=1e-6)
        loss.backward()
        sgd.step()
    assert trajectory.losses[-1] < trajectory.losses[0]


def test_describe_is_json_and_fingerprints_the_weights():
    x, y = tabular()
    a = ModelObjective(mlp(0), "cross_entropy", (x, y))
    description = a.describe()
    json.dumps(description)
    assert (
        description["model_fingerprint"]
        == ModelObjective(mlp(0), "cross_entropy", (x, y)).fingerprint()
    )
    assert (
        description["model_fingerprint"]
        != ModelObjective(mlp(1), "cross_entropy", (x, y)).fingerprint()
    )
    assert description["loss"] == "cross_entropy" and description["bn"] == "eval"
    assert description["data"]["n_total"] == 90 and description["dtype"] == "float32"
    assert description["path"] == "sequential"
    other = ModelObjective(mlp(0), "cross_entropy", (x + 1, y)).describe()
    assert other["data"]["fingerprint"] != description["data"]["fingerprint"]


def test_hooks_send_a_sequential_to_the_general_path():
    model = mlp()
    model[1].register_forward_hook(lambda module, inputs, output: output * 2)
    x, y = tabular()
    objective = ModelObjective(model, "cross_entropy", (x, y))
    assert not objective.fast_path
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model.eval()(x), y)
    torch.testing.assert_close(objective(objective.origin), expected)


def test_float64_models_stay_float64():
    model = mlp().double()
    x, y = tabular()
    objective = ModelObjective(model, "cross_entropy", (x, y))  # float32 data is cast
    assert objective.origin.dtype == torch.float64
    points = random_points(objective, n=2)
    losses, _ = oracle(model, objective.layout, points, x.double(), y)
    torch.testing.assert_close(objective.evaluate(points)["loss"], losses, rtol=1e-12, atol=1e-12)


def test_hessian_equals_torch_func_on_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(20, 3, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 2, (20,), generator=generator)
    objective = ModelObjective(model, "cross_entropy", (x, y))
    layout = objective.layout

    def loss(vector):
        outputs = torch.func.functional_call(model, layout.unflatten(vector), (x,))
        return nn.functional.cross_entropy(outputs, y)

    expected = torch.func.hessian(loss)(objective.origin)
    got = objective.hessian(objective.origin[None])[0]
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
