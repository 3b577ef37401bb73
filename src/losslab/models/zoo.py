"""Small networks for landscapes, each a flat `nn.Sequential` of standard torch modules.

Flat chains of Linear / Conv2d / BatchNorm / activation / Flatten keep parameter names
predictable ("0.weight", "2.bias", ...) and let batched evaluators walk the layers.

    >>> mlp(64, 10, hidden=(128, 128))      # the benchmark network W1: 64-128-128-10
    >>> cnn()                                # W2: conv 1->16, conv 16->32, linear 512->10
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from losslab._checks import check_count
from losslab.errors import LosslabError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
    "silu": nn.SiLU,
}


def linear_regression(n_features: int = 2) -> nn.Sequential:
    """x (N, n_features) -> x @ w (N,): one weight per feature, no bias.

    Parameters: "0.weight" of shape (1, n_features), so the flat vector is (w1, w2, ...)
    and the MSE landscape in raw (w1, w2) is the exact least-squares bowl.
    """
    check_count("n_features", n_features)
    return nn.Sequential(nn.Linear(n_features, 1, bias=False), nn.Flatten(0))


def logistic_regression(n_features: int = 2) -> nn.Sequential:
    """x (N, n_features) -> logits x @ w (N,), for binary cross-entropy with logits; no bias."""
    check_count("n_features", n_features)
    return nn.Sequential(nn.Linear(n_features, 1, bias=False), nn.Flatten(0))


def normal_equation(X: Tensor, y: Tensor) -> Tensor:
    """The least-squares weights (n_features,) for X (N, n_features), y (N,), in float64.

    The exact minimum of mean((X @ w - y)^2) over w, by torch.linalg.lstsq (also defined
    when X^T X is singular: the minimum-norm solution is one of the minima).
    """
    X = torch.as_tensor(X).detach().to(torch.float64)
    y = torch.as_tensor(y).detach().to(torch.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise LosslabError(
            f"X of shape {tuple(X.shape)} and y of shape {tuple(y.shape)}: "
            "need X (N, n_features) and y (N,)."
        )
    # gelsd (SVD) is the CPU driver that returns the minimum-norm solution for any rank.
    driver = "gelsd" if X.device.type == "cpu" else None
    return torch.linalg.lstsq(X, y[:, None], driver=driver).solution[:, 0]


def mlp(
    in_features: int,
    out_features: int,
    hidden: Sequence[int] = (64,),
    activation: str = "relu",
    batch_norm: bool = False,
) -> nn.Sequential:
    """(N, in_features) -> (N, out_features): Linear [-> BatchNorm1d] -> activation per hidden
    layer, then a last Linear. hidden=(128, 128) on 64 inputs and 10 outputs is W1."""
    check_count("in_features", in_features)
    check_count("out_features", out_features)
    hidden = tuple(hidden)
    for width in hidden:
        check_count("hidden width", width)
    make_activation = _activation(activation)
    layers: list[nn.Module] = []
    width_in = in_features
    for width in hidden:
        layers.append(nn.Linear(width_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(make_activation())
        width_in = width
    layers.append(nn.Linear(width_in, out_features))
    return nn.Sequential(*layers)


def cnn(
    in_channels: int = 1,
    n_classes: int = 10,
    channels: Sequence[int] = (16, 32),
    image_size: int = 8,
) -> nn.Sequential:
    """(N, in_channels, image_size, image_size) -> (N, n_classes) logits.

    One 3x3 convolution (no padding, stride 1) and ReLU per entry of `channels`, then Flatten
    and Linear. Each convolution trims 2 pixels: on 8x8 digits with the default channels the
    last feature map is (32, 4, 4), so the Linear is 512 -> 10. This is W2.
    """
    check_count("in_channels", in_channels)
    check_count("n_classes", n_classes)
    check_count("image_size", image_size)
    channels = tuple(channels)
    if not channels:
        raise LosslabError("channels == (): give at least one convolution, e.g. (16, 32).")
    for width in channels:
        check_count("channels", width)
    side = image_size - 2 * len(channels)
    if side < 1:
        raise LosslabError(
            f"{len(channels)} 3x3 convolutions do not fit image_size == {image_size}: "
            f"each trims 2 pixels, so use at most {(image_size - 1) // 2}."
        )
    layers: list[nn.Module] = []
    width_in = in_channels
    for width in channels:
        layers += [nn.Conv2d(width_in, width, kernel_size=3), nn.ReLU()]
        width_in = width
    layers += [nn.Flatten(), nn.Linear(width_in * side * side, n_classes)]
    return nn.Sequential(*layers)


def _activation(name: str) -> type[nn.Module]:
    if isinstance(name, str) and name in ACTIVATIONS:
        return ACTIVATIONS[name]
    close = difflib.get_close_matches(str(name), list(ACTIVATIONS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise LosslabError(
        f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}.{hint}"
    )
