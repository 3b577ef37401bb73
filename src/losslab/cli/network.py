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
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich.table import Table

from losslab import directions as directions_lib
from losslab import models
from losslab._checks import check_positive
from losslab.cli.errors import computing, interruption_says
from losslab.cli.executor_options import (
    AddressOpt,
    CpusPerTaskOpt,
    ExecutorChoice,
    ExecutorOpt,
    GpusPerTaskOpt,
    executor_from,
)
from losslab.cli.landscape_resume import (
    interrupted_line,
    keep_training,
    landscape_inputs,
    resume_training,
)
from losslab.cli.network_options import (
    DIRECTION_TEXT,
    LANDSCAPE_FORMATS,
    PCA_RECORDS,
    RUN_FORMATS,
    WEIGHT_FORMATS,
    BatchNormChoice,
    BatchSizeOpt,
    DataOpt,
    DatasetOpt,
    DepthOpt,
    DirectionChoice,
    LossOpt,
    LrOpt,
    ModelOpt,
    MomentumOpt,
    OptimizerChoice,
    OptimizerOpt,
    PretrainEpochsOpt,
    SeedOpt,
    WeightsOpt,
    WidthOpt,
)
from losslab.cli.network_setup import (
    Setup,
    Training,
    check_out,
    distinct,
    network_objective,
    prepare,
    refuse_diverged,
    scores,
    scores_table,
    train_setup,
)
from losslab.cli.options import DEFAULT_DPI, DpiOpt
from losslab.cli.output import write_figure
from losslab.cli.parsing import FIGURE_FORMATS
from losslab.cli.progress import progress_bar
from losslab.cli.render import console, number
from losslab.data.dataset import REGRESSION
from losslab.errors import LosslabError
from losslab.io import atomic_open
from losslab.landscapes.grid import check_grid
from losslab.landscapes.store import exclusive

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
    training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
    if out is not None and out.suffix.lower() == ".json":
        _check_json_size(setup, training, record_every, out)
    with progress_bar() as track:
        run = train_setup(
            setup,
            training,
            record_every=record_every,
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


def _check_json_size(setup: Setup, training: Training, record_every: int, out: Path):
    from losslab.results import JSON_MAX_VALUES

    steps = training.n_steps(setup.data.n_train)
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
    epochs: PretrainEpochsOpt = None,
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
    dpi: DpiOpt = DEFAULT_DPI,
    executor: ExecutorOpt = ExecutorChoice.local,
    address: AddressOpt = None,
    cpus_per_task: CpusPerTaskOpt = 1.0,
    gpus_per_task: GpusPerTaskOpt = 0.0,
) -> None:
    """The loss landscape of a network around its trained weights, on a 1-D or 2-D slice.

    losslab landscape --model mlp --dataset digits --directions filter --resolution 51 --out land.h5
    losslab landscape ... --out land.h5 --executor ray --address auto   (on a Ray cluster)
    """
    runner = executor_from(executor, address, cpus_per_task, gpus_per_task)
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
    training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
    with (
        exclusive(out) if out is not None else contextlib.nullcontext(),
        interruption_says(lambda: interrupted_line(out)),
    ):
        setup = prepare(model, dataset, data, weights, width, depth, seed, loss)
        if directions is DirectionChoice.axes:
            _check_axes(setup, dims)
        objective = network_objective(setup, n_samples, seed, bn)  # checks --metrics now
        if wanted is not None:
            unknown = [m for m in wanted if m not in objective.metrics]
            if unknown:
                raise LosslabError(
                    f"--metrics {metrics}: {', '.join(unknown)} not available; this objective "
                    f"has {', '.join(objective.metrics)}."
                )
        # The grid's size, refused before any training (the library checks it again).
        check_grid("landscape", [resolution] * dims, 4 * len(wanted or objective.metrics))
        run, resumed = None, False
        if out is not None:  # the kept training of an interrupted run, or a refusal, at once
            inputs = landscape_inputs(
                setup,
                dict(
                    model=model,
                    loss=setup.loss,
                    **training.options(),
                    directions=directions,
                    dims=dims,
                    span=span,
                    resolution=resolution,
                    metrics=metrics,
                    n_samples=n_samples,
                    bn=bn,
                ),
            )
            resumed, run = resume_training(out, inputs, setup, trains=epochs > 0)
        with progress_bar() as track:
            if epochs > 0 and not resumed:
                run = train_setup(
                    setup,
                    training,
                    record_every=max(1, training.n_steps(setup.data.n_train) // PCA_RECORDS),
                    progress=track(f"training {setup.title}"),
                )
                refuse_diverged(run, lr)
            if out is not None and not resumed:
                keep_training(out, inputs, setup, run)
            if epochs > 0:
                objective = network_objective(setup, n_samples, seed, bn)  # the trained weights
            with computing(f"choosing the {directions.value} directions for {setup.title}"):
                chosen = _directions(directions, objective, run, dims, seed)
            if span is None:
                span = path_span(run, chosen) if directions is DirectionChoice.pca else 1.0
            from losslab.landscapes import landscape as compute

            with computing(f"computing the landscape of {setup.title}"):
                result = compute(
                    objective,
                    chosen,
                    span=span,
                    resolution=resolution,
                    out=out,
                    metrics=wanted,
                    progress=track("landscape"),
                    metadata={"title": f"{setup.title}, {DIRECTION_TEXT[directions]}"},
                    executor=runner,
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


def _directions(choice: DirectionChoice, objective, run, dims: int, seed: int):
    if choice is DirectionChoice.pca:
        return directions_lib.pca(run, n=dims)
    if choice is DirectionChoice.axes:
        axes = torch.eye(objective.n_params, dtype=torch.float64)[:dims]
        return directions_lib.custom(list(axes), objective, kind="axes")
    return directions_lib.random(objective, n=dims, normalization=choice.value, seed=seed)


def path_span(run, chosen, margin: float = 0.1) -> list[tuple[float, float]]:
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
    from losslab.plot._slice import axes_offset

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
