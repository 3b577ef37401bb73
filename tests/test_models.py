"""Built-in models: the normal equation is the exact least-squares minimum; networks have the
documented shapes and layers; `build` sizes, seeds and checks them."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.models import (
    build,
    cnn,
    describe_model,
    linear_regression,
    logistic_regression,
    mlp,
    models,
    normal_equation,
)
from losslab.params import ParamLayout, model_vector

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def digit_images():
    return load_dataset("digits", images=True)


def mse_at(w, X, y):
    return ((X @ w - y) ** 2).mean()


def test_normal_equation_recovers_the_true_weights_within_noise():
    data = load_dataset("linear", n_samples=4000, noise=0.5, test_fraction=0.5)
    X, y = data.train
    w = normal_equation(X, y)
    assert w.dtype == torch.float64 and w.shape == (2,)
    # standard error of each weight is noise * sqrt(diag((X^T X)^-1)), about 0.5/sqrt(2000)*1.15
    error = (w - data.true_weights.double()).abs()
    standard_error = 0.5 * torch.linalg.inv(X.double().T @ X.double()).diagonal().sqrt()
    assert (error < 4 * standard_error).all(), (error, standard_error)
    assert not torch.equal(w, data.true_weights.double())  # noise moves the minimum


def test_normal_equation_is_the_exact_minimum_of_the_mse():
    data = load_dataset("linear", seed=5)
    X, y = (t.double() for t in data.train)
    w = normal_equation(*data.train).requires_grad_(True)
    (gradient,) = torch.autograd.grad(mse_at(w, X, y), w)
    assert gradient.abs().max() < 1e-12
    generator = torch.Generator().manual_seed(0)
    steps = 1e-3 * torch.randn(50, 2, generator=generator, dtype=torch.float64)
    best = mse_at(w.detach(), X, y)
    assert all(mse_at(w.detach() + step, X, y) > best for step in steps)
    expected, *_ = np.linalg.lstsq(X.numpy(), y.numpy(), rcond=None)
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-10)


def test_normal_equation_checks_shapes():
    with pytest.raises(LosslabError, match=r"X of shape \(5,\) and y of shape \(5,\)"):
        normal_equation(torch.ones(5), torch.ones(5))


def test_linear_regression_is_the_bowl_in_its_two_weights():
    data = load_dataset("linear")
    model = linear_regression(2)
    X, y = data.train
    layout = ParamLayout.of(model)
    assert layout.names == ("0.weight",) and layout.n_params == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no broadcasting warning from mse_loss
        out = model(X)
        assert out.shape == (len(X),)
        F.mse_loss(out, y)
    w = normal_equation(X, y).float()
    params = layout.unflatten(w)
    value = F.mse_loss(functional_call(model, params, (X,)), y)
    torch.testing.assert_close(value.double(), mse_at(w.double(), X.double(), y.double()))


def test_logistic_regression_gives_one_logit_per_sample():
    model = logistic_regression(2)
    X = load_dataset("logistic").X_train
    assert model(X).shape == (len(X),) and ParamLayout.of(model).n_params == 2
    assert not any(isinstance(m, nn.Linear) and m.bias is not None for m in model)


def test_mlp_is_a_flat_chain_of_standard_layers():
    net = mlp(64, 10, hidden=(128, 128))
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert ParamLayout.of(net).n_params == 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10
    bn = mlp(4, 3, hidden=(8,), activation="tanh", batch_norm=True)
    assert [type(m) for m in bn] == [nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Linear]
    assert mlp(4, 3).__getitem__(0).out_features == 64  # default hidden=(64,)
    assert bn(torch.randn(5, 4)).shape == (5, 3)


def test_cnn_on_digit_images(digit_images):
    net = cnn()
    kinds = [type(m) for m in net]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.Conv2d, nn.ReLU, nn.Flatten, nn.Linear]
    assert net[-1].in_features == 32 * 4 * 4
    assert net(digit_images.X_train[:7]).shape == (7, 10)
    assert ParamLayout.of(net).n_params == (16 * 9 + 16) + (32 * 16 * 9 + 32) + (512 * 10 + 10)
    assert cnn(channels=(4,), image_size=5)[-1].in_features == 4 * 3 * 3


def test_zoo_errors():
    with pytest.raises(LosslabError, match="unknown activation 'rleu'.*Did you mean 'relu'"):
        mlp(2, 2, activation="rleu")
    with pytest.raises(LosslabError, match="3 3x3 convolutions do not fit image_size == 6"):
        cnn(channels=(4, 4, 4), image_size=6)
    with pytest.raises(LosslabError, match="hidden width == 0"):
        mlp(2, 2, hidden=(0,))


def test_models_list():
    assert models() == ["linear_regression", "logistic_regression", "mlp", "mlp_bn", "cnn"]
    assert all(describe_model(name) for name in models())


def test_build_sizes_the_benchmark_networks(digits, digit_images):
    w1 = build("mlp", digits)
    assert [m.in_features for m in w1 if isinstance(m, nn.Linear)] == [64, 128, 128]
    assert w1[-1].out_features == 10 and w1(digits.X_train[:3]).shape == (3, 10)
    w2 = build("cnn", digit_images)
    assert w2(digit_images.X_train[:3]).shape == (3, 10)
    assert ParamLayout.of(w2).n_params == 9930
    bn = build("mlp_bn", digits)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in bn) == 2
    assert build("mlp", digit_images)(digit_images.X_train[:3]).shape == (3, 10)


def test_build_width_and_depth(digits, digit_images):
    net = build("mlp", digits, width=16, depth=3)
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [16, 16, 16, 10]
    conv = build("cnn", digit_images, width=4, depth=3)
    assert [m.out_channels for m in conv if isinstance(m, nn.Conv2d)] == [4, 8, 16]
    assert conv(digit_images.X_train[:2]).shape == (2, 10)


def test_build_regression_and_binary_models():
    linear = load_dataset("linear", n_features=3)
    model = build("linear_regression", linear)
    assert model(linear.X_train).shape == (linear.n_train,) and model[0].weight.shape == (1, 3)
    assert build("mlp", linear)(linear.X_train).shape == (linear.n_train,)
    moons = load_dataset("moons")
    assert build("logistic_regression", moons)(moons.X_train).shape == (moons.n_train,)
    assert build("mlp", moons)(moons.X_train).shape == (moons.n_train, 2)


def test_build_is_seeded_and_leaves_the_global_random_state_alone(digits):
    state = torch.get_rng_state()
    a, b, c = (model_vector(build("mlp", digits, seed=s)) for s in (3, 3, 4))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(3)
    assert torch.equal(model_vector(mlp(64, 10, hidden=(128, 128))), a)


@pytest.mark.parametrize(
    ("name", "dataset", "kwargs", "match"),
    [
        ("cnn", "iris", {}, "model 'cnn' does not fit dataset 'iris'.*square images"),
        ("linear_regression", "digits", {}, "needs a regression set"),
        ("logistic_regression", "iris", {}, "needs a binary classification set"),
        ("cnn", "linear", {}, "needs square images"),
        ("mlp", "iris", {"width": 0}, "width == 0"),
        ("linear_regression", "linear", {"width": 4}, "width and depth do not apply"),
        ("mpl", "iris", {}, "unknown model 'mpl'.*Did you mean 'mlp'"),
        ("mlp", "iris", {"seed": -1}, "seed == -1"),
    ],
)
def test_build_errors(name, dataset, kwargs, match):
    with pytest.raises(LosslabError, match=match) as error:
        build(name, load_dataset(dataset), **kwargs)
    assert "\n" not in str(error.value)


def test_build_needs_a_dataset():
    with pytest.raises(LosslabError, match="dataset is a tuple, must be a losslab Dataset") as e:
        build("mlp", (torch.ones(2, 2), torch.ones(2)))
    assert isinstance(e.value, TypeError)  # a wrong type, not a wrong value
