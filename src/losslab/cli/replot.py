"""`losslab plot`: draw results saved by other commands, without computing anything again.

What it draws is decided by the types of the files it is given (read by the one codec, so a
file that is not a losslab result, or is damaged, is one line):

    a Landscape [--trajectory RUN]       surface + contour for a plane, a curve for a line
    one or more Paths                    metrics along each path on one chart (`connect --out`)
    a plane Landscape and a Bezier Path  Garipov's picture: the loss on the plane through A,
                                         B and the control point, with the line and the curve
    a WidthSweep                         the width curves with +-1 sd whiskers (`widths --out`)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from losslab.cli.network_setup import check_out
from losslab.cli.options import DEFAULT_DPI, DpiOpt
from losslab.cli.output import write_figure
from losslab.cli.parsing import FIGURE_FORMATS
from losslab.cli.render import console
from losslab.errors import LosslabError

DRAWABLE = (
    "a landscape (.h5), one or more connectivity paths, a plane landscape with its Bezier "
    "path (from 'losslab connect --out'), or a width sweep (from 'losslab widths --out')"
)


def plot_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="RESULT...",
            show_default=False,
            help="Result files: a landscape (.h5) from 'losslab landscape --out'; paths "
            "from 'losslab connect --out' (several on one chart); the plane landscape and "
            "the Bezier path of a connect run; a width sweep from 'losslab widths --out'.",
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
        str, typer.Option(help="Which metric of a landscape to draw (loss, accuracy, ...).")
    ] = "loss",
    log: Annotated[bool, typer.Option(help="Colour a landscape by log10 of the metric.")] = False,
    trajectory: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN",
            show_default=False,
            help="Overlay a training trajectory (.json or .h5 from 'losslab train --out') on "
            "a landscape, projected into the slice.",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option(show_default=False, help="Title of the figure.")
    ] = None,
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Draw saved results: a landscape, paths between two models, Garipov's plane, a width
    sweep.

    losslab plot land.h5 --out land.png --metric loss --log --trajectory run.json
    losslab plot run-linear.json run-linear-aligned.json run-bezier.json --out paths.png
    losslab plot run-plane.h5 run-bezier.json --out plane.png
    losslab plot sweep.json --out widths.svg
    """
    out = check_out(out, FIGURE_FORMATS, "--out")
    from losslab.results import load_result

    results = [load_result(path) for path in files]
    run = _load_run(trajectory) if trajectory is not None else None
    draw = _picture(results, files, metric=metric, log=log, run=run, title=title)
    write_figure(out, draw)
    console().print(f"wrote {out}")


def _picture(results: list, files: list[Path], *, metric, log, run, title):
    """renderer -> figure for what `results` hold, or one line saying what can be drawn."""
    from losslab.connectivity import Path as ConnectivityPath
    from losslab.connectivity import WidthSweep
    from losslab.landscapes import Landscape

    kinds = [type(result) for result in results]
    if run is not None and kinds != [Landscape]:
        raise LosslabError("--trajectory is drawn over one landscape: give a single landscape.")
    if kinds == [Landscape]:
        land = results[0]
        return lambda renderer: renderer.slice_view(
            land, metric=metric, log=log, trajectory=run, title=title
        )
    if kinds == [WidthSweep]:
        return lambda renderer: renderer.width_curves(results[0], title=title)
    if all(kind is ConnectivityPath for kind in kinds):
        pairs = zip(results, files, strict=True)
        labelled = [(_label(result, path), result) for result, path in pairs]
        return lambda renderer: renderer.path_profile(labelled, title=title or "")
    if sorted(kind.__name__ for kind in kinds) == ["Landscape", "Path"]:
        land = next(r for r in results if isinstance(r, Landscape))
        curve = next(r for r in results if isinstance(r, ConnectivityPath))
        if curve.kind != "bezier":
            raise LosslabError(
                "a plane is drawn with the Bezier path it was computed for: give "
                "'NAME-plane.h5' and 'NAME-bezier.json' from 'losslab connect'."
            )
        return lambda renderer: renderer.bezier_plane(land, curve, title=title)
    if len(results) == 1:
        raise LosslabError(f"'{files[0]}' holds a {_noun(results[0])}: plot draws {DRAWABLE}.")
    given = ", ".join(f"'{p}' ({_noun(r)})" for p, r in zip(files, results, strict=True))
    raise LosslabError(f"cannot draw {given} on one figure: plot draws {DRAWABLE}.")


def _label(path, file: Path) -> str:
    """A path's legend label: its kind, and the file's name, which says what it was."""
    kind = "Bezier curve" if path.kind == "bezier" else "straight line"
    return f"{kind} ({file.stem})"


def _noun(result) -> str:
    return getattr(result, "result_type", type(result).__name__).replace("_", " ")


def _load_run(path: Path):
    from losslab.training import TrainingRun

    if not path.exists():
        raise LosslabError(f"trajectory file '{path}' does not exist.")
    if not path.is_file():
        raise LosslabError(f"trajectory file '{path}' is not a file.")
    try:
        return TrainingRun.load(path)
    except LosslabError as error:  # the codec turns every unreadable file into one line
        message = str(error)  # it names the file itself, mostly: name it once
        where = "--trajectory:" if f"'{path}'" in message else f"--trajectory '{path}':"
        raise LosslabError(f"{where} {message}") from None
