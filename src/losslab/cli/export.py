"""`losslab export`: a saved landscape for other tools (ParaView .vts/.vtk, .csv, .npz).

losslab export land.h5 --out land.vts [--metric loss] [--log]

The format follows the suffix of --out; what each holds is in losslab/landscapes/export.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from losslab.cli.network_setup import check_out
from losslab.cli.render import console
from losslab.errors import LosslabError
from losslab.landscapes.export import EXPORT_FORMATS


def export_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.h5",
            show_default=False,
            help="A landscape file from 'losslab landscape --out' (or Landscape.save).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            show_default=False,
            help=".vts (VTK XML) or .vtk (legacy VTK) for ParaView, .csv or .npz.",
        ),
    ],
    metric: Annotated[
        str | None,
        typer.Option(
            show_default=False,
            help="The metric whose values are the height (z) of a .vts/.vtk grid "
            "(default: loss, else the first metric). Every metric is written.",
        ),
    ] = None,
    log: Annotated[
        bool,
        typer.Option(
            help="Height of a .vts/.vtk grid = log10 of the metric (of metric - min + 1e-12 "
            "when a value is <= 0), as 'losslab plot --log' colours.",
        ),
    ] = False,
) -> None:
    """Write a landscape for ParaView (.vts, .vtk), a spreadsheet (.csv) or numpy (.npz).

    losslab export land.h5 --out land.vts --metric loss --log
    losslab export land.h5 --out land.csv
    """
    from losslab.landscapes import Landscape
    from losslab.results import load_result

    out = check_out(out, EXPORT_FORMATS, "--out")
    land = load_result(file)
    if not isinstance(land, Landscape):
        noun = getattr(land, "result_type", type(land).__name__).replace("_", " ")
        raise LosslabError(
            f"'{file}' holds a {noun}: export takes a landscape (from 'losslab landscape --out')."
        )
    land.export(out, metric=metric, log=log)
    n_points = 1
    for n in land.shape:
        n_points *= n
    shape = " x ".join(str(n) for n in land.shape)
    console().print(f"wrote {out}: {n_points} points ({shape}), metrics {', '.join(land.metrics)}")
