"""Options shared by `losslab train`, `landscape`, `plot` (and any command that loads a model
and its data): output formats, the choices they offer and their typer declarations."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

LANDSCAPE_FORMATS = (".h5", ".hdf5")
RUN_FORMATS = (".json", ".h5", ".hdf5")
WEIGHT_FORMATS = (".pt", ".pth")
PCA_RECORDS = 100  # about this many points of the trajectory are recorded for PCA


class DirectionChoice(StrEnum):
    """--directions: random directions with a normalization, PCA of the trajectory, or the
    raw parameter axes of a model with one or two parameters."""

    filter = "filter"
    layer = "layer"
    none = "none"
    pca = "pca"
    axes = "axes"


DIRECTION_TEXT = {
    "filter": "random filter-normalized directions",
    "layer": "random layer-normalized directions",
    "none": "random directions (not normalized)",
    "pca": "PCA directions of the training trajectory",
    "axes": "the raw parameter axes",
}


class BatchNormChoice(StrEnum):
    eval = "eval"
    recompute = "recompute"


class LossChoice(StrEnum):
    cross_entropy = "cross_entropy"
    mse = "mse"
    bce = "bce"


class OptimizerChoice(StrEnum):
    sgd = "sgd"
    adam = "adam"
    adamw = "adamw"
    rmsprop = "rmsprop"
    adagrad = "adagrad"


# -- options ------------------------------------------------------------------------------------

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        metavar="NAME|FILE.py:FACTORY",
        help="A built-in model (linear_regression, logistic_regression, mlp, mlp_bn, cnn) or "
        "your own: path/to/file.py:factory, where factory() takes no arguments and returns "
        "the nn.Module (the file is imported and run).",
    ),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        "-d",
        metavar="NAME",
        show_default=False,
        help="A built-in data set (digits, iris, breast_cancer, wine, moons, circles, blobs, "
        "linear, logistic). Default: digits, unless --data is given.",
    ),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="FILE.npz",
        show_default=False,
        help="Your data: an .npz with arrays X (N, features...) and y (N,) (optionally X_test, "
        "y_test), read without unpickling. Integer y: classes; float y: regression targets.",
    ),
]
WeightsOpt = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        metavar="FILE.pt",
        show_default=False,
        help="Start from these weights: a state dict saved with "
        "torch.save(model.state_dict(), path), loaded strictly and with weights_only=True.",
    ),
]
WidthOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        show_default=False,
        help="Hidden units per layer (mlp, mlp_bn; default 128) or first conv channels (cnn). "
        "A model whose parameters would not fit in the memory available is refused up front.",
    ),
]
DepthOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        show_default=False,
        help="Hidden layers (mlp, mlp_bn; default 2; at most 1000) or conv layers (cnn; "
        "default 2).",
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        min=0,
        help="Seed of the data split, the initial weights, the batch order and the random "
        "directions: the same seed gives the same numbers.",
    ),
]
LossOpt = Annotated[
    LossChoice | None,
    typer.Option(
        show_default=False,
        help="Loss: cross_entropy (class logits), bce (one logit, labels 0/1) or mse. "
        "Default: from the data and the model's output.",
    ),
]
OptimizerOpt = Annotated[OptimizerChoice, typer.Option(help="Optimizer for training.")]
LrOpt = Annotated[float, typer.Option(help="Learning rate, in (0, 1e6].")]
MomentumOpt = Annotated[float, typer.Option(help="Momentum in [0, 1) (sgd and rmsprop only).")]
BatchSizeOpt = Annotated[int, typer.Option(min=1, help="Samples per mini-batch.")]
PretrainEpochsOpt = Annotated[
    int | None,
    typer.Option(
        min=0,
        show_default=False,
        help="Train this many epochs first (0: the untrained initial weights). Default: 20, "
        "or 0 with --weights.",
    ),
]
