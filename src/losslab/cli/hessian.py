"""`losslab hessian`: the Hessian spectrum of a network at its (trained) weights.

    losslab hessian --model mlp --dataset digits --top 5 --trace --density --out spectrum.json
    losslab hessian --model mlp --dataset digits --density --out spectrum.png

parse -> train (optional) -> losslab.curvature -> table (+ JSON or the log-density figure).
Options are checked (output path first, then model, weights, data) before any work, so bad
input ends as one line on stderr, exit code 2, and no file.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from losslab._checks import check_positive
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
    BatchNormChoice,
    BatchSizeOpt,
    DataOpt,
    DatasetOpt,
    DepthOpt,
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
    Training,
    check_out,
    network_objective,
    prepare,
    refuse_diverged,
    train_setup,
)
from losslab.cli.options import DEFAULT_DPI, DpiOpt
from losslab.cli.output import write_figure
from losslab.cli.progress import progress_bar
from losslab.cli.render import console, number
from losslab.errors import LosslabError

OUT_FORMATS = (".json", ".png", ".svg", ".pdf")


class KindChoice(StrEnum):
    """The matrix: the Hessian, the generalized Gauss-Newton, the empirical Fisher."""

    hessian = "hessian"
    ggn = "ggn"
    fisher = "fisher"


def hessian_command(
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
    top: Annotated[
        int, typer.Option(min=0, help="How many of the largest eigenvalues (0: none).")
    ] = 5,
    bottom: Annotated[
        int,
        typer.Option(min=0, help="How many of the smallest (most negative) eigenvalues."),
    ] = 0,
    tol: Annotated[float, typer.Option(help="Relative tolerance of the eigenvalues (> 0).")] = 1e-4,
    trace: Annotated[
        bool, typer.Option("--trace/--no-trace", help="Estimate the trace (Hutch++).")
    ] = False,
    probes: Annotated[
        int, typer.Option(min=6, help="Hessian-vector products for the trace.")
    ] = 100,
    density: Annotated[
        bool,
        typer.Option(
            "--density/--no-density", help="Estimate the eigenvalue density (stochastic Lanczos)."
        ),
    ] = False,
    density_probes: Annotated[int, typer.Option(min=1, help="Probes of the density.")] = 3,
    steps: Annotated[int, typer.Option(min=2, help="Lanczos steps per density probe.")] = 80,
    params: Annotated[
        str | None,
        typer.Option(
            metavar="NAMES",
            show_default=False,
            help="Only these parameters (per-layer curvature): comma-separated names or "
            "module prefixes, e.g. '0.' or '0.weight,2.weight'. Default: all.",
        ),
    ] = None,
    n_samples: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default=False,
            help="Use a fixed seeded subset of this many training samples. Default: all.",
        ),
    ] = None,
    bn: Annotated[
        BatchNormChoice, typer.Option(help="BatchNorm: running statistics or recomputed.")
    ] = BatchNormChoice.eval,
    kind: Annotated[
        KindChoice,
        typer.Option(
            help="The matrix: the Hessian, the generalized Gauss-Newton (ggn) or the "
            "empirical Fisher (fisher)."
        ),
    ] = KindChoice.hessian,
    seed: SeedOpt = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            show_default=False,
            help="Write the results: .json (eigenvalues without the vectors, trace, density) "
            "or .png/.svg/.pdf (the log-density curve; needs --density).",
        ),
    ] = None,
    dpi: DpiOpt = DEFAULT_DPI,
    executor: ExecutorOpt = ExecutorChoice.local,
    address: AddressOpt = None,
    cpus_per_task: CpusPerTaskOpt = 1.0,
    gpus_per_task: GpusPerTaskOpt = 0.0,
) -> None:
    """Eigenvalues, trace and spectral density of a network's Hessian at its weights.

    losslab hessian --model mlp --dataset digits --top 5 --trace --density --out spectrum.json
    """
    runner = executor_from(executor, address, cpus_per_task, gpus_per_task)
    out = check_out(out, OUT_FORMATS, "--out")
    check_positive("tol", tol)
    check_positive("lr", lr)
    if out is not None and out.suffix.lower() != ".json" and not density:
        raise LosslabError(
            f"--out {out} draws the eigenvalue density: add --density, or write .json."
        )
    if not (top or bottom or trace or density):
        raise LosslabError("nothing to compute: ask for --top K, --bottom K, --trace or --density.")
    subset = _parse_params(params)
    if epochs is None:
        epochs = 0 if weights is not None else 20
    setup = prepare(model, dataset, data, weights, width, depth, seed, loss)
    objective = network_objective(setup, n_samples, seed, bn)
    from losslab import curvature

    curvature.operator(objective, kind.value, params=subset)  # checks --params, --kind first
    with progress_bar() as track:
        if epochs > 0:
            training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
            run = train_setup(
                setup,
                training,
                record_every=max(1, training.n_steps(setup.data.n_train)),
                progress=track(f"training {setup.title}"),
            )
            refuse_diverged(run, lr)
            objective = network_objective(setup, n_samples, seed, bn)
    results: dict = {}
    of = f"of the {_matrix(kind.value)} of {setup.title}"
    if top:
        with computing(f"computing the {top} largest eigenvalues {of}"):
            results["top"] = curvature.eigenvalues(
                objective, k=top, tol=tol, seed=seed, params=subset, kind=kind.value
            )
    if bottom:
        with computing(f"computing the {bottom} smallest eigenvalues {of}"):
            results["bottom"] = curvature.eigenvalues(
                objective,
                k=bottom,
                which="smallest",
                tol=tol,
                seed=seed,
                params=subset,
                kind=kind.value,
            )
    if trace:
        with computing(f"estimating the trace {of}"):
            results["trace"] = curvature.trace(
                objective, probes, seed=seed, params=subset, kind=kind.value, executor=runner
            )
    if density:
        with computing(f"estimating the eigenvalue density {of}"):
            results["density"] = curvature.density(
                objective,
                density_probes,
                steps,
                seed=seed,
                params=subset,
                kind=kind.value,
                executor=runner,
            )
    printer = console()
    printer.print(hessian_table(results, setup, objective, subset, epochs))
    if out is None:
        return
    if out.suffix.lower() == ".json":
        _report(results, setup, objective, subset, epochs).save(out)
    else:
        spectrum = results["density"]
        write_figure(
            out,
            lambda renderer: renderer.spectrum(
                spectrum, title=f"{_matrix(kind.value)} eigenvalue density: {setup.title}"
            ),
        )
    printer.print(f"wrote {out}")


def _parse_params(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise LosslabError(f"--params {text!r} names no parameter: write e.g. '0.' or '0.weight'.")
    return names


def _where(setup, epochs: int) -> str:
    if epochs:
        return f"after {epochs} epoch{'s' if epochs > 1 else ''} of training"
    return "at the given weights" if setup.weights else "at the initial weights"


def hessian_table(results: dict, setup, objective, subset, epochs: int) -> Table:
    """One row per figure: eigenvalues (with their error bounds), trace, density summary."""
    block = f", block of {', '.join(subset)}" if subset else ""
    table = Table(
        title=f"{_matrix(_kind(results))} of {setup.title} "
        f"({objective.n_params} parameters{block}), "
        f"{_where(setup, epochs)}",
        title_justify="left",
    )
    for column in ("quantity", "value", "error bound", "products"):
        table.add_column(column, justify="left" if column == "quantity" else "right")
    for key, label in (("top", "lambda_{i} (largest)"), ("bottom", "lambda_{i} (smallest)")):
        if key not in results:
            continue
        pairs = results[key]
        for i, (value, bound, ok) in enumerate(
            zip(pairs.values, pairs.error_bounds, pairs.converged, strict=True)
        ):
            flag = "" if bool(ok) else " (not converged)"
            table.add_row(
                label.format(i=i + 1),
                number(value),
                number(bound, 2) + flag,
                str(pairs.n_products) if i == 0 else "",
            )
    if "top" in results and "bottom" in results:
        hi, lo = float(results["top"].values[0]), float(results["bottom"].values[0])
        ratio = abs(lo / hi) if hi != 0 else float("nan")
        table.add_row("|lambda_min / lambda_max|", number(ratio), "", "")
    if "trace" in results:
        estimate = results["trace"]
        table.add_row(
            f"trace ({estimate.method})",
            number(estimate.estimate),
            "+- " + number(estimate.standard_error, 3) + " (s.e.)",
            str(estimate.n_products),
        )
    if "density" in results:
        spectrum = results["density"]
        table.add_row(
            "density: nodes span",
            f"[{number(spectrum.nodes.min())}, {number(spectrum.nodes.max())}]",
            f"sigma {number(spectrum.sigma, 3)}",
            str(spectrum.n_products),
        )
    return table


def _report(results: dict, setup, objective, subset, epochs: int):
    """The figures as one HessianReport (it keeps the eigenvalues, not the eigenvectors)."""
    from losslab.curvature import HessianReport

    return HessianReport(
        objective.describe(),
        setup.source.label,
        setup.data.name,
        _where(setup, epochs),
        subset,
        **results,
        kind=_kind(results),
    )


def _kind(results: dict) -> str:
    """The matrix the figures are of (each records it)."""
    return next(iter(results.values())).kind if results else "hessian"


def _matrix(kind: str) -> str:
    """The matrix's name in a title: 'Hessian', 'Gauss-Newton', 'Empirical Fisher'."""
    from losslab.curvature.kinds import NAMES

    name = NAMES[kind]
    return name[0].upper() + name[1:]
