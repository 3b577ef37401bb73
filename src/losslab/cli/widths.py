"""`losslab widths`: the measured form of "wider is smoother".

    losslab widths --model mlp --dataset digits --widths 8,16,32,64 --seeds 3 --epochs 10 \\
        --out sweep.json --plot sweep.png

parse -> losslab.connectivity.width_sweep (every width x seed: train, loss/accuracy, barrier
to the next seed's network before/after weight matching, top Hessian eigenvalue, non-convex
share and roughness of a filter-normalized 2-D slice) -> two tables of mean +- sd over seeds
-> the WidthSweep file and the width curves with +-1 sd whiskers. It reports what it finds,
monotone or not.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.table import Table

from losslab import models
from losslab._checks import check_positive
from losslab.cli import model_loading
from losslab.cli.errors import computing
from losslab.cli.executor_options import (
    AddressOpt,
    CpusPerTaskOpt,
    ExecutorChoice,
    ExecutorOpt,
    GpusPerTaskOpt,
    executor_from,
)
from losslab.cli.network_options import (
    RUN_FORMATS,
    BatchNormChoice,
    BatchSizeOpt,
    DataOpt,
    DatasetOpt,
    DepthOpt,
    LossOpt,
    LrOpt,
    MomentumOpt,
    OptimizerChoice,
    OptimizerOpt,
)
from losslab.cli.network_setup import check_out, distinct, prepare
from losslab.cli.options import DEFAULT_DPI, DpiOpt
from losslab.cli.output import write_figure
from losslab.cli.outputs import write_all
from losslab.cli.parsing import FIGURE_FORMATS
from losslab.cli.progress import progress_bar
from losslab.cli.render import console, number
from losslab.errors import LosslabError

WIDTH_MODELS = ("mlp", "mlp_bn", "cnn")  # the built-ins that take a width
FIT_COLUMNS = (
    ("loss", "final loss"),
    ("accuracy", "accuracy"),
    ("top_eigenvalue", "top eigenvalue"),
    ("nonconvex_share", "non-convex share"),
    ("roughness", "roughness"),
)
BARRIER_COLUMNS = (
    ("barrier_before", "loss barrier before"),
    ("barrier_after", "after matching"),
    ("barrier_accuracy_before", "accuracy drop before"),
    ("barrier_accuracy_after", "after matching"),
)


def widths_command(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            metavar="NAME|FILE.py:FACTORY",
            help=f"A built-in model with a width: {', '.join(WIDTH_MODELS)} (hidden units "
            "per layer; the cnn's first channels), or your own path/to/file.py:factory, "
            "where factory(width) returns the nn.Module of that width (the file is run).",
        ),
    ] = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    widths: Annotated[
        str,
        typer.Option(metavar="W1,W2,...", help="The widths to train, comma-separated."),
    ] = "8,16,32,64",
    depth: DepthOpt = None,
    seeds: Annotated[
        str,
        typer.Option(
            metavar="N|S1,S2,...",
            help="Networks per width: a count N >= 2 (seeds 0..N-1) or the seeds themselves. "
            "Each network is paired with the next seed's for its barrier.",
        ),
    ] = "3",
    epochs: Annotated[int, typer.Option(min=1, help="Epochs to train each network.")] = 10,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    loss: LossOpt = None,
    span: Annotated[
        float, typer.Option(help="Each slice runs +-SPAN filter-normalized units (> 0).")
    ] = 1.0,
    resolution: Annotated[int, typer.Option(min=3, help="Points per axis of each 2-D slice.")] = 15,
    planes: Annotated[
        int, typer.Option(min=1, help="Random slices per network (their figures averaged).")
    ] = 1,
    n_points: Annotated[int, typer.Option(min=2, help="Points along each barrier's line.")] = 25,
    bn: Annotated[
        BatchNormChoice,
        typer.Option(help="BatchNorm along the lines: recompute its statistics, or eval."),
    ] = BatchNormChoice.recompute,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Write the WidthSweep (every sample, not only the means): .json or .h5; "
            "load it with ll.load_result.",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FIGURE",
            show_default=False,
            help="Draw the width curves, one small panel per figure, mean +-1 sd over seeds: "
            ".png/.svg/.pdf or .html.",
        ),
    ] = None,
    dpi: DpiOpt = DEFAULT_DPI,
    executor: ExecutorOpt = ExecutorChoice.local,
    address: AddressOpt = None,
    cpus_per_task: CpusPerTaskOpt = 1.0,
    gpus_per_task: GpusPerTaskOpt = 0.0,
) -> None:
    """Train networks of several widths, several seeds each, and measure how their landscape
    changes: loss, barriers between seeds before/after weight matching, sharpness, convexity.

    losslab widths --model mlp --dataset digits --widths 8,16,32,64 --seeds 3 --out sweep.json
    """
    runner = executor_from(executor, address, cpus_per_task, gpus_per_task)
    out = check_out(out, RUN_FORMATS, "--out")
    plot = check_out(plot, FIGURE_FORMATS, "--plot")
    distinct(out, plot)
    check_positive("lr", lr)
    check_positive("span", span)
    chosen_widths = parse_widths(widths)
    chosen_seeds = parse_seeds(seeds)
    make_model, dataset_obj, loss_name, label = width_family(
        model, dataset, data, depth, loss, chosen_widths[0]
    )
    from losslab.connectivity.sweep import width_sweep

    title = f"{label} on {dataset_obj.name}"
    with progress_bar() as track, computing(f"the width sweep of {title}"):
        sweep = width_sweep(
            make_model,
            chosen_widths,
            dataset_obj,
            loss_name,
            seeds=chosen_seeds,
            epochs=epochs,
            optimizer=optimizer.value,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            span=span,
            resolution=resolution,
            planes=planes,
            n_points=n_points,
            bn=bn.value,
            executor=runner,
            progress=track(f"{len(chosen_widths)} widths x {len(sweep_seeds(chosen_seeds))} seeds"),
        )
    printer = console()
    for table in width_tables(sweep, title):
        printer.print(table)
    printer.print(f"{len(sweep.widths) * len(sweep.seeds)} networks in {sweep.seconds:.1f} s")
    writers = []
    if out is not None:
        writers.append((out, sweep.save))
    if plot is not None:
        heading = (
            f"{title} against width: mean \u00b1 1 sd over {len(sweep.seeds)} seeds "
            f"({epochs} epochs each)"
        )
        writers.append(
            (
                plot,
                lambda target: write_figure(target, lambda r: r.width_curves(sweep, title=heading)),
            )
        )
    for written in write_all(writers):
        printer.print(f"wrote {written}")


def width_family(model: str, dataset, data, depth, loss, first_width: int):
    """(make_model(width), the Dataset, the loss name, the model's label) for --model: a
    built-in with a width, or the user's file.py:factory whose factory takes the width. The
    first width is built and run on two samples now, so a model that does not fit the data
    is refused before any training."""
    source = model_loading.parse_model(model)
    if source.builtin and source.name not in WIDTH_MODELS:
        raise LosslabError(
            f"--model {model}: losslab widths varies the width of {', '.join(WIDTH_MODELS)} "
            "or of your file.py:factory(width); "
            f"{model} has none."
        )
    if not source.builtin and depth is not None:
        raise LosslabError(
            "--depth sizes the built-in models; your factory decides its own depth: leave it out."
        )
    if source.builtin:
        setup = prepare(model, dataset, data, None, first_width, depth, 0, loss)

        def make_model(width: int):
            # width_sweep seeds torch before each call: build from that seed.
            seed = torch.initial_seed()
            return models.build(model, setup.data, width=width, depth=depth, seed=seed)

        return make_model, setup.data, setup.loss, source.label
    if dataset is not None and data is not None:
        raise LosslabError(
            f"give --dataset or --data, not both (got --dataset {dataset} and --data {data})."
        )
    loss_name = None if loss is None else loss.value
    if data is not None:
        dataset_obj = model_loading.load_npz(data, loss_name)
    else:
        dataset_obj = model_loading.load_builtin_data(dataset or "digits", source, seed=0)
    make_model = model_loading.user_width_factory(source)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        first = make_model(first_width)
    chosen = model_loading.check_fit(first, dataset_obj, loss_name, source.label)
    return make_model, dataset_obj, chosen, source.label


def parse_widths(text: str) -> list[int]:
    """'8,16,32' -> [8, 16, 32]: whole numbers >= 1, each once."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    values = []
    for part in parts:
        if not part.isdigit() or int(part) < 1:
            raise LosslabError(
                f"--widths {text!r}: {part!r} is not a whole number >= 1; write e.g. 8,16,32."
            )
        values.append(int(part))
    if not values:
        raise LosslabError(f"--widths {text!r} names no width: write e.g. 8,16,32.")
    if len(set(values)) != len(values):
        raise LosslabError(f"--widths {text!r} repeats a width: give each once.")
    return values


def parse_seeds(text: str) -> int | list[int]:
    """'3' -> 3 (seeds 0, 1, 2); '0,5,9' -> [0, 5, 9]. At least 2 (a barrier pairs two)."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise LosslabError(
            f"--seeds {text!r}: give a count >= 2 (e.g. 3) or seeds >= 0 (e.g. 0,1,2)."
        )
    if len(parts) == 1:
        count = int(parts[0])
        if count < 2:
            raise LosslabError(
                f"--seeds {text}: a sweep needs 2 networks per width at least (a barrier "
                "pairs two, a spread needs two)."
            )
        return count
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise LosslabError(f"--seeds {text!r} repeats a seed: give each once.")
    return seeds


def sweep_seeds(seeds: int | list[int]) -> list[int]:
    return list(range(seeds)) if isinstance(seeds, int) else seeds


def width_tables(sweep, title: str) -> list[Table]:
    """Two tables, one row per width, each cell 'mean +- sd' over seeds: how well the
    networks fit and how their landscape looks; and the barriers between seeds."""
    n_params = sweep.settings.get("n_params", {})
    tables = []
    for heading, columns in (
        (f"{title}: fit and shape of the landscape (mean \u00b1 sd over seeds)", FIT_COLUMNS),
        (
            f"{title}: barriers to another seed's network, before/after weight matching",
            BARRIER_COLUMNS,
        ),
    ):
        present = [(f, label) for f, label in columns if f in sweep.samples]
        table = Table(title=heading, title_justify="left")
        table.add_column("width", justify="right")
        if columns is FIT_COLUMNS:
            table.add_column("parameters", justify="right")
        for _, label in present:
            table.add_column(label, justify="right")
        means = {f: sweep.mean(f) for f, _ in present}
        sds = {f: sweep.sd(f) for f, _ in present}
        for i, width in enumerate(sweep.widths.tolist()):
            cells = [str(width)]
            if columns is FIT_COLUMNS:
                cells.append(str(n_params.get(str(width), "")))
            cells += [mean_sd(float(means[f][i]), float(sds[f][i])) for f, _ in present]
            table.add_row(*cells)
        tables.append(table)
    return tables


def mean_sd(mean: float, sd: float) -> str:
    """'0.123 \u00b1 0.0045' (4 significant digits; 'nan' where no value is finite)."""
    if not math.isfinite(mean):
        return "nan"
    return f"{number(mean, 4)} \u00b1 {number(sd, 2)}"
