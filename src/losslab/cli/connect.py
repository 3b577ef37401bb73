"""`losslab connect`: are two trained networks joined by a path of low loss?

    losslab connect --model mlp --dataset digits --path both --out run.json --plot run.png

parse -> two models (pair_setup) -> weight matching (--align) -> linear_path / bezier ->
barrier table -> files. With --path linear the straight line is measured before and (with
--align) after the symmetry is undone; with --path bezier a quadratic Bezier curve is trained
between model A and (aligned) model B, and the straight line between the same two models is
measured beside it; --path both does all of it.

Files (each named from the --out / --plot stem, all checked before any work, all written at
the end, all or none):
    --out STEM.json|.h5    STEM-linear (before alignment), STEM-linear-aligned, STEM-bezier:
                           Path results; STEM-permutation: the weight matching; STEM-plane.h5:
                           the loss on the Bezier plane (a Landscape)
    --plot STEM.png|...    STEM-line (loss and accuracy along the line, before/after
                           alignment), STEM-bezier (the curve against the line), STEM-plane
                           (Garipov et al. 2018's picture)
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.table import Table

from losslab import directions as directions_lib
from losslab._checks import check_positive
from losslab.cli.errors import computing
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
    SeedOpt,
    WidthOpt,
)
from losslab.cli.network_setup import Training, check_out
from losslab.cli.options import DEFAULT_DPI, DpiOpt
from losslab.cli.output import write_figure
from losslab.cli.outputs import check_distinct, check_family, tagged, write_all
from losslab.cli.pair_setup import (
    PairEpochsOpt,
    SeedBOpt,
    WeightsAOpt,
    WeightsBOpt,
    prepare_pair,
    train_pair,
    where_from,
)
from losslab.cli.parsing import DATA_FORMATS, FIGURE_FORMATS
from losslab.cli.progress import progress_bar
from losslab.cli.render import console, number
from losslab.errors import LosslabError

# The plane's window reaches these shares of |b - a| beyond A, B and C: along the line, and
# across it (more: the valley the curve finds and the hills the line crosses both show).
PLANE_MARGIN = (0.25, 0.5)
LABELS = {
    "before": "straight line",
    "after": "straight line, aligned",
    "bezier": "Bezier curve",
}
OUT_TAGS = {"before": "linear", "after": "linear-aligned", "bezier": "bezier"}


class PathChoice(StrEnum):
    linear = "linear"
    bezier = "bezier"
    both = "both"


def connect_command(
    model: ModelOpt = "mlp",
    dataset: DatasetOpt = None,
    data: DataOpt = None,
    weights_a: WeightsAOpt = None,
    weights_b: WeightsBOpt = None,
    width: WidthOpt = None,
    depth: DepthOpt = None,
    epochs: PairEpochsOpt = 20,
    optimizer: OptimizerOpt = OptimizerChoice.sgd,
    lr: LrOpt = 0.1,
    momentum: MomentumOpt = 0.0,
    batch_size: BatchSizeOpt = 64,
    loss: LossOpt = None,
    seed: SeedOpt = 0,
    seed_b: SeedBOpt = None,
    path: Annotated[
        PathChoice,
        typer.Option(
            help="linear: the straight line from A to B; bezier: a trained quadratic Bezier "
            "curve (Garipov et al. 2018) and the line beside it; both: all of it."
        ),
    ] = PathChoice.both,
    align: Annotated[
        bool,
        typer.Option(
            "--align/--no-align",
            help="Undo the permutation symmetry first: weight matching (Ainsworth et al. "
            "2022) permutes B's hidden units to fit A's; the line is then measured before "
            "and after, and the Bezier curve ends at the aligned B.",
        ),
    ] = True,
    n_points: Annotated[int, typer.Option(min=2, help="Points along each path.")] = 25,
    bn: Annotated[
        BatchNormChoice,
        typer.Option(
            help="BatchNorm along a path: recompute its statistics on the data at each point "
            "(one extra pass each), or eval: interpolate the two models' running statistics."
        ),
    ] = BatchNormChoice.recompute,
    bezier_epochs: Annotated[
        int, typer.Option(min=1, help="Epochs to train the Bezier control point.")
    ] = 20,
    bezier_lr: Annotated[
        float, typer.Option(help="Learning rate of the control point (SGD, momentum 0.9).")
    ] = 0.05,
    max_iter: Annotated[
        int, typer.Option(min=1, help="Most rounds of weight matching over the layers.")
    ] = 100,
    plane_resolution: Annotated[
        int,
        typer.Option(min=3, help="Grid points per axis of the plane picture (--plot, --out)."),
    ] = 21,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="STEM.json|STEM.h5",
            show_default=False,
            help="Write the results, one file per path, named from this one: STEM-linear, "
            "STEM-linear-aligned, STEM-bezier (Paths), STEM-permutation (the matching) and "
            "STEM-plane.h5 (the loss on the Bezier plane); load each with ll.load_result.",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="STEM.png|.svg|.pdf|.html",
            show_default=False,
            help="Draw the figures, named from this one: STEM-line (loss and accuracy along "
            "the line, before/after alignment), STEM-bezier (the curve against the line), "
            "STEM-plane (the loss on the plane through A, B and the control point).",
        ),
    ] = None,
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Loss barriers between two trained networks: the straight line before and after weight
    matching, and a trained Bezier curve.

    losslab connect --model mlp --dataset digits --path both --out run.json --plot run.png
    """
    wants_line = path is not PathChoice.bezier
    wants_curve = path is not PathChoice.linear
    keys = _path_keys(wants_line, wants_curve, align)
    out_tags = [OUT_TAGS[k] for k in keys] + (["permutation"] if align else [])
    outs = check_family(out, out_tags, DATA_FORMATS, "--out")
    if out is not None and wants_curve:  # a Landscape is HDF5 whatever --out's suffix
        outs["plane"] = check_out(tagged(out, "plane", ".h5"), (".h5",), "--out")
    figure_tags = (["line"] if wants_line else []) + (["bezier", "plane"] if wants_curve else [])
    plots = check_family(plot, figure_tags, FIGURE_FORMATS, "--plot")
    check_distinct(outs, plots)
    check_positive("lr", lr)
    check_positive("bezier_lr", bezier_lr)

    pair = prepare_pair(
        model, dataset, data, weights_a, weights_b, width, depth, seed, seed_b, loss
    )
    if align:  # a model weight matching cannot handle: refused before any training
        from losslab.symmetry import permutation_groups

        with computing(f"finding the permutation groups of {pair.title}"):
            permutation_groups(pair.a.model)
    training = Training(epochs, optimizer, lr, momentum, batch_size, seed)
    paths: dict = {}
    matching = None
    plane = None
    with progress_bar() as track:
        train_pair(pair, training, track)
        model_a, model_b = pair.a.model, pair.b.model
        end = model_b
        if align:
            matching = _align(model_a, model_b, max_iter, seed)
            end = matching.aligned
        common = {"n_points": n_points, "bn": bn.value}
        for key in keys:
            if key == "bezier":
                continue
            other = end if key == "after" else model_b
            with computing(f"measuring the {LABELS[key]} between the two models"):
                paths[key] = _linear(model_a, other, pair.loss, pair.data, common)
        if wants_curve:
            with computing("training the Bezier control point"):
                from losslab.connectivity import bezier

                paths["bezier"] = bezier(
                    model_a,
                    end,
                    pair.loss,
                    pair.data,
                    epochs=bezier_epochs,
                    lr=bezier_lr,
                    seed=seed,
                    batch_size=batch_size,
                    progress=track("training the Bezier control point"),
                    **common,
                )
            if out is not None or plot is not None:
                with computing("computing the loss on the Bezier plane"):
                    plane = bezier_plane_landscape(
                        paths["bezier"], pair, bn, plane_resolution, track
                    )
    printer = console()
    printer.print(
        f"{pair.title}, {pair.a.n_params} parameters: model A {where_from(pair.a, seed, epochs)}"
        f", model B {where_from(pair.b, pair.seed_b, epochs)}"
    )
    if matching is not None:
        printer.print(matching.summary())
    printer.print(barrier_table(paths, pair.title))
    writers = [(outs[OUT_TAGS[k]], paths[k].save) for k in keys if out is not None]
    if matching is not None and out is not None:
        writers.append((outs["permutation"], matching.permutation.save))
    if plane is not None and out is not None:
        writers.append((outs["plane"], plane.save))
    writers += _figure_writers(plots, paths, plane, pair.title, align)
    for written in write_all(writers):
        printer.print(f"wrote {written}")


def _path_keys(line: bool, curve: bool, align: bool) -> list[str]:
    """Which paths to measure: 'before' / 'after' the alignment for the line, 'bezier'. A
    Bezier curve alone still gets the straight line between its own two ends, to compare."""
    keys = []
    if line:
        keys.append("before")
    if align and (line or curve):
        keys.append("after")
    if curve and not align and not line:
        keys.append("before")
    if curve:
        keys.append("bezier")
    return keys


def _linear(model_a, model_b, loss: str, data, common: dict):
    from losslab.connectivity import linear_path

    return linear_path(model_a, model_b, loss, data, **common)


def _align(model_a, model_b, max_iter: int, seed: int):
    from losslab.cli.matching import match

    with computing("weight matching model B to model A"):
        return match(model_a, model_b, max_iter=max_iter, seed=seed)


# -- the plane of a Bezier curve ----------------------------------------------------------------


def bezier_plane(path, margin: tuple[float, float] = PLANE_MARGIN):
    """The plane through a Bezier path's anchors A, B and C (Garipov et al. 2018, Fig. 1):
    origin A, orthonormal directions u = (b - a) / |b - a| and v, the part of c - a
    orthogonal to u (Gram-Schmidt), normalized; and the window (per axis (lo, hi)) that holds
    A = (0, 0), B = (|b - a|, 0) and C = ((c - a).u, (c - a).v) with margin * |b - a|
    around them (along, across). Returns (Directions (2, n_params) float64, window)."""
    a, b, c = (row.to(torch.float64) for row in path.anchors)
    length = torch.linalg.vector_norm(b - a)
    if float(length) == 0.0:
        raise LosslabError("the two models are the same point: there is no plane to draw.")
    u = (b - a) / length
    along = float((c - a) @ u)
    rest = (c - a) - along * u
    height = torch.linalg.vector_norm(rest)
    if float(height) <= 1e-12 * float(length):
        raise LosslabError(
            "the Bezier control point lies on the straight line: the curve spans no plane."
        )
    v = rest / height
    directions = directions_lib.custom([u, v], path.layout, origin=a, kind="bezier_plane")
    pad_x, pad_y = (m * float(length) for m in margin)
    xs, ys = (0.0, float(length), along), (0.0, 0.0, float(height))
    window = [(min(xs) - pad_x, max(xs) + pad_x), (min(ys) - pad_y, max(ys) + pad_y)]
    return directions, window


def bezier_plane_landscape(path, pair, bn: BatchNormChoice, resolution: int, track):
    """The loss (and accuracy) on `bezier_plane(path)`, evaluated by losslab.landscape on the
    training split with model A's architecture (the plane's origin is A's weights)."""
    from losslab.landscapes import landscape
    from losslab.objectives.model import ModelObjective

    directions, window = bezier_plane(path)
    objective = ModelObjective(pair.a.model, pair.loss, pair.data.train, bn=bn.value)
    return landscape(
        objective,
        directions,
        span=window,
        resolution=resolution,
        progress=track("the loss on the Bezier plane"),
        metadata={"title": f"{pair.title}: the plane through A, B and the Bezier control point"},
    )


# -- what it prints and draws -------------------------------------------------------------------


def barrier_table(paths: dict, title: str) -> Table:
    """One row per path: its loss and accuracy barriers, the loss at both ends and its
    highest loss along the path, and how long it took."""
    table = Table(title=f"barriers between model A and model B ({title})", title_justify="left")
    columns = ("path", "loss barrier", "accuracy barrier", "loss at A", "loss at B", "max loss")
    for column in (*columns, "seconds"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for key, found in paths.items():
        loss = found.values["loss"]
        accuracy = found.barrier.get("accuracy")
        table.add_row(
            LABELS[key],
            number(found.barrier["loss"]),
            "" if accuracy is None else number(accuracy),
            number(float(loss[0])),
            number(float(loss[-1])),
            number(float(loss.max())),
            f"{found.seconds:.2f}",
        )
    return table


def _figure_writers(plots: dict, paths: dict, plane, title: str, align: bool) -> list:
    colours = {"before": "before", "after": "after", "bezier": "bezier"}
    writers = []

    def entries(keys):
        return [(LABELS[k], paths[k], colours[k]) for k in keys if k in paths]

    def figure(picture, *args, **kwargs):
        return lambda target: write_figure(
            target, lambda renderer: getattr(renderer, picture)(*args, **kwargs)
        )

    if "line" in plots:
        shown = entries(("before", "after"))
        writers.append((plots["line"], figure("path_profile", shown, title=title)))
    if "bezier" in plots:
        line = "after" if "after" in paths else "before"
        shown = entries(("bezier", line))
        writers.append((plots["bezier"], figure("path_profile", shown, title=title)))
    if "plane" in plots and plane is not None:
        b = "aligned B" if align else "B"
        heading = f"{title}: loss on the plane through A, {b} and the Bezier control point"
        writers.append(
            (plots["plane"], figure("bezier_plane", plane, paths["bezier"], title=heading))
        )
    return writers
