"""`build(name, dataset)`: a built-in network sized for a data set, seeded, checked.

>>> data = load_dataset("digits")
>>> build("mlp", data)                       # W1: 64-128-128-10
>>> build("cnn", load_dataset("digits", images=True))   # W2
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import torch
from torch import nn

from losslab import budget
from losslab._checks import check_count, check_seed
from losslab.data.dataset import CLASSIFICATION, REGRESSION, Dataset
from losslab.errors import ArgumentTypeError, LosslabError
from losslab.models import zoo

# name -> one line on what it is
_MODELS: dict[str, str] = {
    "linear_regression": "x @ w, one weight per feature, no bias (regression sets)",
    "logistic_regression": "logits x @ w, no bias (binary classification sets)",
    "mlp": "ReLU perceptron, 2 hidden layers of 128 (width, depth override)",
    "mlp_bn": "as mlp with BatchNorm1d after each hidden Linear",
    "cnn": "two 3x3 conv layers of 16 and 32 channels + Linear (image data; width=first "
    "channels, doubling per layer; depth=number of conv layers)",
}

MLP_WIDTH, MLP_DEPTH = 128, 2
CNN_WIDTH, CNN_DEPTH = 16, 2


def models() -> list[str]:
    """Names of the built-in models."""
    return list(_MODELS)


def describe_model(name: str) -> str:
    """One line on what a built-in model is."""
    _check_name(name)
    return _MODELS[name]


def build(
    name: str,
    dataset: Dataset,
    *,
    width: int | None = None,
    depth: int | None = None,
    seed: int = 0,
) -> nn.Module:
    """A freshly initialised built-in model with inputs and outputs sized for `dataset`.

    width: units per hidden layer (mlp, mlp_bn; default 128) or channels of the first
        convolution, doubling per layer (cnn; default 16).
    depth: hidden layers (mlp, mlp_bn; default 2) or convolutions (cnn; default 2).
    seed: the initial weights are those torch's default initialisation draws after
        `torch.manual_seed(seed)`; the caller's global random state is left as it was.

    Outputs: n_classes logits for classification (2 for binary sets: use cross-entropy), one
    value per sample, shape (N,), for regression and for logistic_regression.
    """
    _check_name(name)
    if not isinstance(dataset, Dataset):
        raise ArgumentTypeError(
            f"dataset is a {type(dataset).__name__}, must be a losslab Dataset "
            "(from losslab.data.load_dataset)."
        )
    check_seed(seed)
    if name in ("linear_regression", "logistic_regression") and (width, depth) != (None, None):
        raise LosslabError(f"width and depth do not apply to '{name}'; leave them out.")
    width = None if width is None else check_count("width", width)
    depth = None if depth is None else check_count("depth", depth)
    if depth is not None:
        budget.require_at_most(name, "depth", depth, budget.MAX_DEPTH, "layers")
    make = _MAKERS[name]
    with torch.random.fork_rng(devices=[]):  # models are built on the CPU
        torch.default_generator.manual_seed(seed)
        return make(dataset, width, depth)


def _linear_regression(data: Dataset, width, depth) -> nn.Module:
    _need(data.task == REGRESSION, "linear_regression", data, "a regression set, e.g. 'linear'")
    _need(len(data.feature_shape) == 1, "linear_regression", data, "flat features")
    return zoo.linear_regression(data.n_features)


def _logistic_regression(data: Dataset, width, depth) -> nn.Module:
    _need(
        data.task == CLASSIFICATION and data.n_classes == 2,
        "logistic_regression",
        data,
        "a binary classification set, e.g. 'logistic', 'moons' or 'breast_cancer'",
    )
    _need(len(data.feature_shape) == 1, "logistic_regression", data, "flat features")
    return zoo.logistic_regression(data.n_features)


def _mlp(batch_norm: bool) -> Callable[[Dataset, int | None, int | None], nn.Module]:
    def make(data: Dataset, width, depth) -> nn.Module:
        out = data.n_classes if data.task == CLASSIFICATION else 1
        n_in, extra = data.n_features, 2 if batch_norm else 0  # BatchNorm: scale and shift

        def n_params(w: int, d: int) -> int:  # (in, w), (w, w) x (d - 1), (w, out) + biases
            return n_in * w + (d - 1) * w * w + d * (1 + extra) * w + w * out + out

        _check_parameters(
            "mlp_bn" if batch_norm else "mlp", n_params, width, depth, MLP_WIDTH, MLP_DEPTH
        )
        hidden = (width or MLP_WIDTH,) * (depth or MLP_DEPTH)
        net = zoo.mlp(data.n_features, out, hidden, batch_norm=batch_norm)
        layers = list(net)
        if len(data.feature_shape) > 1:
            layers.insert(0, nn.Flatten())  # images (N, C, H, W) -> (N, C*H*W)
        if data.task == REGRESSION:
            layers.append(nn.Flatten(0))  # (N, 1) -> (N,), the shape of y
        return nn.Sequential(*layers)

    return make


def _cnn(data: Dataset, width, depth) -> nn.Module:
    shape = data.feature_shape
    _need(
        len(shape) == 3 and shape[1] == shape[2],
        "cnn",
        data,
        "square images (N, C, H, H), e.g. load_dataset('digits', images=True)",
    )
    _need(data.task == CLASSIFICATION, "cnn", data, "a classification set")
    first, n_layers = width or CNN_WIDTH, depth or CNN_DEPTH
    side = shape[1] - 2 * n_layers  # each 3x3 convolution trims 2 pixels (zoo.cnn says so)

    def n_params(w: int, d: int) -> int:  # convolutions (c_in, c, 3, 3) + bias, then Linear
        widths = [shape[0]] + [w * 2**i for i in range(d)]
        convs = sum(a * b * 9 + b for a, b in zip(widths, widths[1:], strict=False))
        return convs + widths[-1] * side * side * data.n_classes + data.n_classes

    if side >= 1:  # else zoo.cnn refuses the depth
        _check_parameters("cnn", n_params, width, depth, CNN_WIDTH, CNN_DEPTH)
    channels = tuple(first * 2**i for i in range(n_layers))
    return zoo.cnn(shape[0], data.n_classes, channels, image_size=shape[1])


_MAKERS = {
    "linear_regression": _linear_regression,
    "logistic_regression": _logistic_regression,
    "mlp": _mlp(batch_norm=False),
    "mlp_bn": _mlp(batch_norm=True),
    "cnn": _cnn,
}


def _check_parameters(model: str, n_params, width, depth, default_width, default_depth) -> None:
    """Refuse, before any weight exists, a model whose parameters do not fit in memory.

    n_params(width, depth) -> parameters; the suggestion bounds the width (or the depth when
    only the depth was given)."""
    w, d = width or default_width, depth or default_depth
    if width is None and depth is not None:
        name, value, cost = "depth", d, lambda v: n_params(w, v) * budget.BYTES_PER_PARAMETER
    else:
        name, value, cost = "width", w, lambda v: n_params(v, d) * budget.BYTES_PER_PARAMETER
    detail = (
        f"{n_params(w, d):.3g} parameters x {budget.BYTES_PER_PARAMETER} bytes: weights, "
        "gradients and optimizer state in float32, slice directions in float64"
    )
    budget.require_memory(model, name, value, cost, detail)


def _need(condition: bool, model: str, data: Dataset, wanted: str) -> None:
    if not condition:
        kind = f"{data.task}, {data.n_classes} classes" if data.n_classes else data.task
        raise LosslabError(
            f"model '{model}' does not fit dataset '{data.name}' ({kind}, features "
            f"{data.feature_shape}): it needs {wanted}."
        )


def _check_name(name: str) -> None:
    if isinstance(name, str) and name in _MODELS:
        return
    close = difflib.get_close_matches(str(name), models(), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise LosslabError(f"unknown model {name!r}: built-ins are {', '.join(models())}.{hint}")
