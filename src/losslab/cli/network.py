"""`losslab train`, `losslab landscape` and `losslab plot`: landscapes of real networks.

    losslab train --model mlp --dataset digits --epochs 20 --out run.json
    losslab landscape --model mlp --dataset digits --directions filter --resolution 51 \\
        --out land.h5 --plot land.png
    losslab plot land.h5 --out land.html --trajectory run.json

Each command is parse -> library -> render. Everything the user typed is checked (output
paths first, then the model, weights and data) before any training or grid point is computed,
so bad input ends as one line on stderr with exit code 2 and no file written.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table
from torch import nn

from losslab import directions as directions_lib
from losslab import models
from losslab._checks import check_positive
from losslab.cli import model_loading
from losslab.cli.model_loading import ModelSource
from losslab.cli.output import write_figure
from losslab.cli.parsing import FIGURE_FORMATS, output_format
from losslab.cli.render import console, number
from losslab.data.dataset import REGRESSION, Dataset
from losslab.errors import LosslabError
from losslab.io import atomic_open, check_writable

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
        help="Hidden units per layer (mlp, mlp_bn; default 128) or first conv channels (cnn).",
    ),
]
DepthOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        show_default=False,
        help="Hidden layers (mlp, mlp_bn; default 2) or conv layers (cnn; default 2).",
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
LrOpt = Annotated[float, typer.Option(help="Learning rate (> 0).")]
MomentumOpt = Annotated[float, typer.Option(help="Momentum in [0, 1) (sgd and rmsprop only).")]
BatchSizeOpt = Annotated[int, typer.Option(min=1, help="Samples per mini-batch.")]


# -- shared setup -------------------------------------------------------------------------------


@dataclass
class Setup:
    """A model, its data and its loss, checked to fit together."""

    source: ModelSource
    model: nn.Module
    data: Dataset
    loss: str
    weights: Path | None

    @property
    def title(self) -> str:
        return f"{self.source.label} on {self.data.name}"

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)


def prepare(
    model: str,
    dataset: str | None,
    data: Path | None,
    weights: Path | None,
    width: int | None,
    depth: int | None,
    seed: int,
    loss: LossChoice | None,
) -> Setup:
    """Parse --model, load the data, build the model, load the weights, check they fit."""
    source = model_loading.parse_model(model)
    if dataset is not None and data is not None:
        raise LosslabError(
            f"give --dataset or --data, not both (got --dataset {dataset} and --data {data})."
        )
    if not source.builtin and (width is not None or depth is not None):
        raise LosslabError(
            "--width and --depth size the built-in models; your model's factory decides its "
            "own size: leave them out."
        )
    loss_name = None if loss is None else loss.value
    if data is not None:
        dataset_obj = model_loading.load_npz(data, loss_name)
    else:
        dataset_obj = model_loading.load_builtin_data(dataset or "digits", source, seed=seed)
    if source.builtin:
        net = models.build(source.name, dataset_obj, width=width, depth=depth, seed=seed)
    else:
        with torch.random.fork_rng(devices=[]):  # a factory's random init is seeded too
            torch.manual_seed(seed)
            net = model_loading.build_user_model(source)
    if weights is not None:
        model_loading.load_weights(net, weights)
    chosen = model_loading.check_fit(net, dataset_obj, loss_name, source.label)
    return Setup(source, net, dataset_obj, chosen, weights)


def check_out(path: Path | None, allowed: tuple[str, ...], option: str) -> Path | None:
    """Fail before any work when --out/--plot has a wrong extension or cannot be written."""
    if path is None:
        return None
    try:
        output_format(path, allowed)
    except LosslabError as error:
        raise LosslabError(f"{option}: {error}") from None
    return check_writable(path)


def distinct(*paths: Path | None) -> None:
    given = [p.resolve() for p in paths if p is not None]
    if len(set(given)) != len(given):
        raise LosslabError("two outputs name the same file: give each output its own path.")


@contextlib.contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator[Callable[[str], Any]]:
    """A rich progress bar with ETA on stderr, only when stderr is a terminal.

    Yields `track(description)` -> a callback (done, total) for the library (or None when
    there is no terminal: the library then skips reporting)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda description: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:

        def track(description: str) -> Callable[[int, int], None]:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return update

        yield track


def scores(setup: Setup) -> dict[str, dict[str, float]]:
    """Loss (and accuracy, for classification) on the train and test splits, in eval mode."""
    from losslab.objectives.model import ModelObjective

    out = {}
    for split, (X, y) in (("train", setup.data.train), ("test", setup.data.test)):
        if len(X) == 0:
            continue
        objective = ModelObjective(setup.model, setup.loss, (X, y))
        values = objective.evaluate(objective.origin[None])
        out[split] = {k: float(torch.as_tensor(v).reshape(-1)[0]) for k, v in values.items()}
    return out


def scores_table(title: str, values: dict[str, dict[str, float]]) -> Table:
    table = Table(title=title, title_justify="left")
    names = {m for split in values.values() for m in split if not m.endswith("_se")}
    metrics = sorted(names, key=lambda m: (m != "loss", m))  # loss first
    table.add_column("split")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for split, row in values.items():
        table.add_row(split, *(number(row[m]) if m in row else "" for m in metrics))
    return table


def _train(
    setup: Setup,
    *,
    epochs,
    optimizer,
    lr,
    momentum,
    batch_size,
    record_every,
    seed,
    out=None,
    progress=None,
):
    from losslab.training import train

    return train(
        setup.model,
        setup.data,
        optimizer=optimizer.value,
        lr=lr,
        momentum=momentum,
        epochs=epochs,
        batch_size=batch_size,
        record_every=record_every,
        loss=setup.loss,
        seed=seed,
        out=out,
        progress=progress,
    )


# -- losslab train ------------------------------------------------------------------------------


def train_command(
    model: ModelOpt = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    weights: WeightsOpt = None,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training set.")] = 20,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    record_every: Annotated[
        int,
        typer.Option(
            min=1,
            help="Record the parameters every this many optimizer steps (the first and last "
            "points are always recorded).",
        ),
    ] = 10,
    loss: LossOpt = None,
    seed: SeedOpt = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Write the recorded trajectory: .json (small runs) or .h5 (any size); "
            "load it with losslab.TrainingRun.load, or overlay it with "
            "'losslab plot LANDSCAPE --trajectory FILE'.",
        ),
    ] = None,
    save_weights: Annotated[
        Path | None,
        typer.Option(
            "--save-weights",
            metavar="FILE.pt",
            show_default=False,
            help="Also write the trained weights (a state dict) for 'losslab landscape "
            "--weights FILE.pt'.",
        ),
    ] = None,
) -> None:
    """Train a network and record its trajectory: the final train/test loss and accuracy.

    losslab train --model mlp --dataset digits --epochs 20 --lr 0.1 --out run.json
    """
    out = check_out(out, RUN_FORMATS, "--out")
    save_weights = check_out(save_weights, WEIGHT_FORMATS, "--save-weights")
    distinct(out, save_weights)
    setup = prepare(model, dataset, data, weights, width, depth, seed, loss)
    if out is not None and out.suffix.lower() == ".json":
        _check_json_size(setup, epochs, batch_size, record_every, out)
    with progress_bar() as track:
        run = _train(
            setup,
            epochs=epochs,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            record_every=record_every,
            seed=seed,
            out=out if out is not None and out.suffix.lower() != ".json" else None,
            progress=track(f"training {setup.title}"),
        )
    if out is not None and out.suffix.lower() == ".json":
        run.save(out)
    if save_weights is not None:
        with atomic_open(save_weights, "wb") as handle:
            torch.save(setup.model.state_dict(), handle)
    printer = console()
    status = "diverged" if run.diverged else "completed"
    printer.print(
        f"trained {setup.title}: {setup.n_params} parameters, {run.n_steps} steps "
        f"({epochs} epochs of {optimizer.value}, lr {number(lr)}), {status}; "
        f"{run.n_records} points recorded"
    )
    printer.print(scores_table("final scores (eval mode)", scores(setup)))
    for path in (out, save_weights):
        if path is not None:
            printer.print(f"wrote {path}")


def _check_json_size(setup: Setup, epochs: int, batch_size: int, record_every: int, out: Path):
    from losslab.training import JSON_MAX_VALUES

    steps = epochs * math.ceil(setup.data.n_train / batch_size)
    records = 1 + math.ceil(steps / record_every)
    if records * setup.n_params > JSON_MAX_VALUES:
        raise LosslabError(
            f"--out {out}: {records} records of {setup.n_params} parameters are too many "
            f"numbers for JSON (at most {JSON_MAX_VALUES}): write {out.with_suffix('.h5')} "
            "or record less often (--record-every)."
        )


# -- losslab landscape --------------------------------------------------------------------------


def landscape_command(
    model: ModelOpt = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    weights: WeightsOpt = None,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            min=0,
            show_default=False,
            help="Train this many epochs first, so the landscape is around a trained point "
            "(0: the untrained initial weights). Default: 20, or 0 with --weights.",
        ),
    ] = None,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    loss: LossOpt = None,
    directions: Annotated[
        DirectionChoice,
        typer.Option(
            help="filter / layer / none: random Gaussian directions, normalized per filter "
            "(Li et al. 2018), per layer, or not at all; pca: the top principal directions "
            "of the training trajectory (needs --epochs >= 1); axes: the raw weights w1, w2 "
            "(models with 1 or 2 parameters, e.g. linear_regression on 'linear').",
        ),
    ] = DirectionChoice.filter,
    dims: Annotated[
        int, typer.Option(min=1, max=2, help="1 for a line (a curve), 2 for a plane.")
    ] = 2,
    span: Annotated[
        float | None,
        typer.Option(
            show_default=False,
            help="Each axis runs from -SPAN to SPAN (> 0) in units of its direction. Default: "
            "1, or with --directions pca just wide enough for the whole training path.",
        ),
    ] = None,
    resolution: Annotated[int, typer.Option(min=2, help="Grid points per axis.")] = 51,
    metrics: Annotated[
        str | None,
        typer.Option(
            metavar="NAMES",
            show_default=False,
            help="Comma-separated metrics to compute, e.g. loss,accuracy. Default: every "
            "metric of the objective (loss, and accuracy for classification).",
        ),
    ] = None,
    n_samples: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default=False,
            help="Evaluate each grid point on this many training samples (a seeded subset; "
            "the file then also holds standard errors). Default: all of them.",
        ),
    ] = None,
    bn: Annotated[
        BatchNormChoice,
        typer.Option(
            help="BatchNorm at each grid point: eval uses the running statistics; "
            "recompute re-estimates them for the moved weights.",
        ),
    ] = BatchNormChoice.eval,
    seed: SeedOpt = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE.h5",
            show_default=False,
            help="Write the landscape (HDF5). Finished chunks are kept while it runs: if it is "
            "interrupted, the same command resumes where it stopped.",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FIGURE",
            show_default=False,
            help="Also draw it: .png/.svg/.pdf (matplotlib) or .html (plotly, offline); the "
            "training trajectory is drawn projected into the slice.",
        ),
    ] = None,
    log: Annotated[bool, typer.Option(help="Colour --plot by log10 of the metric.")] = False,
) -> None:
    """The loss landscape of a network around its trained weights, on a 1-D or 2-D slice.

    losslab landscape --model mlp --dataset digits --directions filter --resolution 51 --out land.h5
    """
    out = check_out(out, LANDSCAPE_FORMATS, "--out")
    plot = check_out(plot, FIGURE_FORMATS, "--plot")
    distinct(out, plot)
    if span is not None:
        check_positive("span", span)
    check_positive("lr", lr)
    wanted = _parse_metrics(metrics)
    if epochs is None:
        epochs = 0 if weights is not None else 20
    if directions is DirectionChoice.pca and epochs == 0:
        raise LosslabError(
            "--directions pca needs a training trajectory: give --epochs >= 1 (or use "
            "--directions filter)."
        )
    setup = prepare(model, dataset, data, weights, width, depth, seed, loss)
    if directions is DirectionChoice.axes:
        _check_axes(setup, dims)
    objective = _objective(setup, n_samples, seed, bn)  # checks --metrics before training
    if wanted is not None:
        unknown = [m for m in wanted if m not in objective.metrics]
        if unknown:
            raise LosslabError(
                f"--metrics {metrics}: {', '.join(unknown)} not available; this objective has "
                f"{', '.join(objective.metrics)}."
            )
    run = None
    with progress_bar() as track:
        if epochs > 0:
            steps = epochs * math.ceil(setup.data.n_train / batch_size)
            run = _train(
                setup,
                epochs=epochs,
                optimizer=optimizer,
                lr=lr,
                momentum=momentum,
                batch_size=batch_size,
                record_every=max(1, steps // PCA_RECORDS),
                seed=seed,
                progress=track(f"training {setup.title}"),
            )
            if run.diverged:
                raise LosslabError(
                    f"training diverged after {run.n_steps} steps (lr {lr}): lower --lr, or "
                    "use --epochs 0 for the untrained weights."
                )
            objective = _objective(setup, n_samples, seed, bn)  # around the trained weights
        chosen = _directions(directions, objective, run, dims, seed)
        if span is None:
            span = _path_span(run, chosen) if directions is DirectionChoice.pca else 1.0
        from losslab.landscapes import landscape as compute

        result = compute(
            objective,
            chosen,
            span=span,
            resolution=resolution,
            out=out,
            metrics=wanted,
            progress=track("landscape"),
            metadata={"title": f"{setup.title}, {DIRECTION_TEXT[directions]}"},
        )
    printer = console()
    printer.print(landscape_table(result, setup, directions, epochs))
    if out is not None:
        printer.print(f"wrote {out}")
    if plot is not None:
        metric = _first_metric(result)
        title = f"{'log10 ' if log else ''}{metric}: {setup.title}, {DIRECTION_TEXT[directions]}"
        write_figure(
            plot,
            lambda renderer: renderer.slice_view(
                result,
                metric=metric,
                log=log,
                trajectory=run,
                mark=_normal_equation_mark(setup),
                title=title,
            ),
        )
        printer.print(f"wrote {plot}")


def _parse_metrics(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise LosslabError(f"--metrics {text!r} names no metric: write e.g. loss,accuracy.")
    if len(set(names)) != len(names):
        raise LosslabError(f"--metrics {text!r} names a metric twice.")
    return names


def _objective(setup: Setup, n_samples: int | None, seed: int, bn: BatchNormChoice):
    from losslab.objectives.model import ModelObjective

    return ModelObjective(
        setup.model,
        setup.loss,
        setup.data.train,
        n_samples=n_samples,
        seed=seed,
        bn=bn.value,
    )


def _directions(choice: DirectionChoice, objective, run, dims: int, seed: int):
    if choice is DirectionChoice.pca:
        return directions_lib.pca(run, n=dims)
    if choice is DirectionChoice.axes:
        axes = torch.eye(objective.n_params, dtype=torch.float64)[:dims]
        return directions_lib.custom(list(axes), objective, kind="axes")
    return directions_lib.random(objective, n=dims, normalization=choice.value, seed=seed)


def _path_span(run, chosen, margin: float = 0.1) -> list[tuple[float, float]]:
    """Per axis, the window (lo, hi) that holds the training path projected onto orthonormal
    PCA directions, the origin (its final point) included, widened by `margin` each side."""
    path = (run.params.to(torch.float64) - chosen.origin) @ chosen.vectors.T  # (T, k)
    windows = []
    for lo, hi in zip(path.min(0).values.tolist(), path.max(0).values.tolist(), strict=True):
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        pad = margin * (hi - lo) or 1.0
        windows.append((lo - pad, hi + pad))
    return windows


def _check_axes(setup: Setup, dims: int) -> None:
    if setup.n_params > 2:
        raise LosslabError(
            f"--directions axes draws the raw weights of a model with 1 or 2 parameters; "
            f"{setup.source.label} has {setup.n_params}: use --directions filter or pca."
        )
    if dims > setup.n_params:
        raise LosslabError(
            f"--dims {dims} with --directions axes: {setup.source.label} has only "
            f"{setup.n_params} parameter; use --dims 1."
        )


def _normal_equation_mark(setup: Setup) -> dict[str, Any] | None:
    """For linear regression, the exact least-squares weights, to mark on the plot."""
    if not (setup.source.builtin and setup.source.name == "linear_regression"):
        return None
    if setup.data.task != REGRESSION or setup.loss != "mse":
        return None
    X, y = setup.data.train
    return {"normal equation": models.normal_equation(X.reshape(len(X), -1), y)}


def _first_metric(result) -> str:
    return "loss" if "loss" in result.values else next(iter(result.values))


def landscape_table(result, setup: Setup, choice: DirectionChoice, epochs: int) -> Table:
    """Per metric: the value at the origin, the range, and the best grid point (in the plot's
    coordinates: the raw weights for --directions axes)."""
    from losslab.plot._slices import axes_offset

    if epochs:
        where = f"the weights after {epochs} epoch{'s' if epochs > 1 else ''} of training"
    else:
        where = "the given weights" if setup.weights else "the initial weights"
    grid = "x".join(map(str, result.shape)) + (" grid" if len(result.shape) == 2 else " points")
    table = Table(
        title=f"{setup.title} ({setup.n_params} parameters): {grid} along "
        f"{DIRECTION_TEXT[choice]}, around {where}",
        title_justify="left",
    )
    for column in ("metric", "at origin", "min", "max", "best grid point"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    offset = axes_offset(
        result, (result.metadata.get("directions") or {}).get("kind", ""), len(result.shape)
    )
    for metric, values in result.values.items():
        if metric.endswith("_se"):
            continue
        finite = values[np.isfinite(values)]
        if not len(finite):
            table.add_row(metric, "", "nan", "nan", "")
            continue
        at_origin = _value_at_origin(result, metric)
        index = _best_index(values, higher=metric.lower() in ("accuracy", "acc"))
        point = [float(c[i]) + o for c, i, o in zip(result.coords, index, offset, strict=True)]
        table.add_row(
            metric,
            number(at_origin) if at_origin is not None else "",
            number(finite.min()),
            number(finite.max()),
            "(" + ", ".join(number(v, 3) for v in point) + ")",
        )
    return table


def _best_index(values, higher: bool) -> tuple[int, ...]:
    filled = np.where(np.isfinite(values), values, -np.inf if higher else np.inf)
    flat = int(np.argmax(filled) if higher else np.argmin(filled))
    return tuple(int(i) for i in np.unravel_index(flat, values.shape))


def _value_at_origin(result, metric: str) -> float | None:
    """The metric at coordinates 0 when 0 is a grid point (an odd resolution), else None."""
    index = []
    for c in result.coords:
        hits = np.flatnonzero(np.abs(c) < 1e-12)
        if not len(hits):
            return None
        index.append(int(hits[0]))
    return float(result.values[metric][tuple(index)])


# -- losslab plot -------------------------------------------------------------------------------


def plot_command(
    landscape_file: Annotated[
        Path,
        typer.Argument(
            metavar="LANDSCAPE",
            show_default=False,
            help="A landscape file (.h5) written by 'losslab landscape --out' or Landscape.save.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="FIGURE",
            show_default=False,
            help="The figure: .png/.svg/.pdf (matplotlib) or .html (plotly, works offline).",
        ),
    ],
    metric: Annotated[
        str, typer.Option(help="Which metric to draw (loss, accuracy, ...).")
    ] = "loss",
    log: Annotated[bool, typer.Option(help="Colour by log10 of the metric.")] = False,
    trajectory: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN",
            show_default=False,
            help="Overlay a training trajectory (.json or .h5 from 'losslab train --out'), "
            "projected into the slice.",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option(show_default=False, help="Title of the figure.")
    ] = None,
) -> None:
    """Draw a saved landscape: surface + contour for a plane, a curve for a line.

    losslab plot land.h5 --out land.png --metric loss --log --trajectory run.json
    """
    out = check_out(out, FIGURE_FORMATS, "--out")
    result = _load_landscape(landscape_file)
    run = _load_run(trajectory) if trajectory is not None else None
    write_figure(
        out,
        lambda renderer: renderer.slice_view(
            result, metric=metric, log=log, trajectory=run, title=title
        ),
    )
    console().print(f"wrote {out}")


def _load_landscape(path: Path):
    from losslab.landscapes import Landscape

    if not path.exists():
        raise LosslabError(f"landscape file '{path}' does not exist.")
    if not path.is_file():
        raise LosslabError(f"landscape file '{path}' is not a file.")
    import h5py

    if not h5py.is_hdf5(path):
        raise LosslabError(
            f"'{path}' is not a landscape file (not HDF5): give the .h5 written by "
            "'losslab landscape --out'."
        )
    return Landscape.load(path)


def _load_run(path: Path):
    from losslab.training import TrainingRun

    if not path.exists():
        raise LosslabError(f"trajectory file '{path}' does not exist.")
    if not path.is_file():
        raise LosslabError(f"trajectory file '{path}' is not a file.")
    try:
        return TrainingRun.load(path)
    except LosslabError as error:
        raise LosslabError(f"--trajectory '{path}': {error}") from None
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise LosslabError(
            f"--trajectory '{path}' is not a training run written by 'losslab train --out' "
            f"({type(error).__name__})."
        ) from None
