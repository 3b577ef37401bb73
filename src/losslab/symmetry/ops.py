"""Which operations a permutation of hidden units passes through unchanged: the tables that
`groups.py` reads while it follows the units through a traced model.

An operation is *equivariant* when permuting the units of its input permutes its output the
same way: element-wise functions (activations, dropout, arithmetic with a number), BatchNorm
(its per-unit weight, bias and running statistics permuted with the units), LayerNorm over the
unit axis (mean and variance are symmetric in the units), pooling over H and W (each channel
pooled on its own). Anything else is refused, never guessed.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

# Modules with no parameters that act on each unit on its own.
ELEMENTWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.Identity,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Softsign,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Tanhshrink,
    nn.LogSigmoid,
    nn.Dropout,
    nn.AlphaDropout,
)
# Dropout2d drops whole channels at random: in distribution the same after a permutation, and
# the identity in eval mode. Pooling over H, W treats each channel on its own.
CHANNEL_MODULES: tuple[type[nn.Module], ...] = (
    nn.Dropout2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.LPPool2d,
)

# Functions called on one tensor (the first argument), the rest numbers or flags.
ELEMENTWISE_FUNCTIONS = {
    torch.relu,
    F.relu,
    F.relu6,
    F.leaky_relu,
    F.elu,
    F.selu,
    F.celu,
    F.gelu,
    F.silu,
    F.mish,
    torch.sigmoid,
    F.sigmoid,
    torch.tanh,
    F.tanh,
    F.softplus,
    F.softsign,
    F.hardtanh,
    F.hardswish,
    F.hardsigmoid,
    F.logsigmoid,
    F.dropout,
    F.alpha_dropout,
    torch.abs,
    torch.neg,
    torch.exp,
    torch.square,
    torch.clamp,
    torch.clip,
}
ELEMENTWISE_METHODS = {
    "relu",
    "relu_",
    "sigmoid",
    "tanh",
    "abs",
    "neg",
    "exp",
    "square",
    "clamp",
    "clip",
    "clamp_min",
    "contiguous",
    "clone",
    "detach",
}
# Element-wise arithmetic of two operands: two unit tensors join their groups (a residual
# addition); a unit tensor and a number keep the units.
BINARY_FUNCTIONS = {
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.iadd,
    operator.isub,
    operator.imul,
    torch.add,
    torch.sub,
    torch.mul,
    torch.div,
}
BINARY_METHODS = {"add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_"}

# Pooling over H and W of an (N, C, H, W) map, channel by channel.
CHANNEL_FUNCTIONS = {
    F.max_pool2d,
    F.avg_pool2d,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    F.dropout2d,
}
# A reduction over H and W: (N, C, H, W) -> (N, C) (or (N, C, 1, 1) with keepdim).
SPATIAL_REDUCTIONS = {"mean", "sum", "amax"}
SPATIAL_FUNCTIONS = {torch.mean, torch.sum, torch.amax}
SPATIAL_DIMS = ({2, 3}, {-2, -1})

# Calls that read a tensor's shape, not its values: they carry no units.
SHAPE_METHODS = {"size", "dim"}
SHAPE_ATTRIBUTES = {"shape", "ndim", "dtype", "device"}

# Every module type `groups.py` follows units through.
FOLLOWED_MODULES = (
    nn.Linear,
    nn.Conv2d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.LayerNorm,
    nn.PReLU,
    nn.Flatten,
    *ELEMENTWISE_MODULES,
    *CHANNEL_MODULES,
)

SUPPORTED = (
    "Linear; Conv2d (groups=1); BatchNorm1d/2d; LayerNorm over the units; PReLU; element-wise "
    "activations, Dropout, Identity; Max/Avg/Adaptive pooling and means over H, W; Flatten of "
    "a feature map into a Linear; residual additions; in nn.Sequential stacks or modules that "
    "torch.fx can trace"
)


def function_name(target) -> str:
    """A call target as the user wrote it: 'torch.cat', 'matmul', 'operator.add'."""
    if isinstance(target, str):
        return f"Tensor.{target}"
    name = getattr(target, "__name__", repr(target))
    module = getattr(target, "__module__", None) or ""
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    if module.startswith("torch.nn.functional") or "boolean_dispatch" in repr(target):
        return f"torch.nn.functional.{name}"
    return f"torch.{name}"


def unary_kind(target) -> str | None:
    """How a one-tensor call treats units: "elementwise", "channel" (pooling over H, W),
    "flatten", "view", "reduction" (over H, W), or None (not followed)."""
    if isinstance(target, str):  # a Tensor method
        if target in ELEMENTWISE_METHODS:
            return "elementwise"
        if target == "flatten":
            return "flatten"
        if target in ("view", "reshape"):
            return "view"
        return "reduction" if target in SPATIAL_REDUCTIONS else None
    if target in ELEMENTWISE_FUNCTIONS:
        return "elementwise"
    if target in CHANNEL_FUNCTIONS:
        return "channel"
    if target is torch.flatten:
        return "flatten"
    return "reduction" if target in SPATIAL_FUNCTIONS else None
