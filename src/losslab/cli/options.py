"""Arguments and options shared by several commands, with help texts that teach.

Ranges live in the signature where typer can say them (`--n-steps` >= 1); what it cannot (lr > 0,
a point's coordinates, an optimizer spec, an output path) is parsed in `parsing` and checked by
the library. Every failure becomes one line on stderr (see `errors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from losslab.cli.output import use_dpi
from losslab.optim import names as optimizer_names
from losslab.plot.export import DPI_RANGE, PNG_DPI

OPTIMIZER_NAMES = ", ".join(optimizer_names())

SurfaceArg = Annotated[
    str,
    typer.Argument(
        metavar="SURFACE",
        show_default=False,
        help="A built-in name (list them with 'losslab surfaces'), a built-in with options such "
        "as 'stretched_bowl:condition=25', or an expression in x and y such as "
        "'x**2 + 10*y**2'. Put '--' before an expression that starts with '-'.",
    ),
]

StartOpt = Annotated[
    str | None,
    typer.Option(
        "--start",
        "-s",
        metavar="X,Y",
        show_default=False,
        help="Starting point: X,Y on a 2-D surface, a single number on a 1-D one "
        "(e.g. --start -1.5,2). Default: a start that shows the surface's lesson "
        "(rosenbrock -1.5,2; himmelblau 0,0; saddle -1.5,0.05).",
    ),
]

LrOpt = Annotated[
    float | None,
    typer.Option(
        "--lr",
        show_default=False,
        help="Learning rate (> 0, at most 1e6) shared by every optimizer whose spec sets none; "
        "Newton keeps lr=1 unless its spec says 'newton:lr=0.5'. "
        "Default: per surface (rosenbrock 1e-3, himmelblau 0.01, bowl 0.1, others 1e-3).",
    ),
]

NStepsOpt = Annotated[
    int,
    typer.Option(
        "--n-steps",
        "-n",
        min=1,
        help="Maximum number of optimizer steps per run (at most 10^7; a run's path is "
        "recorded until it converges or diverges).",
    ),
]

OptimizerOpt = Annotated[
    str,
    typer.Option(
        "--optimizer",
        "-p",
        metavar="SPEC",
        help=f"One optimizer as name[:key=value,...], e.g. 'momentum:beta=0.95,lr=0.01'. "
        f"Names: {OPTIMIZER_NAMES}.",
    ),
]

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="FILE",
        show_default=False,
        help="Also write FILE; its extension picks the format: .png/.svg/.pdf (matplotlib), "
        ".html (interactive plotly, works offline) or .json/.h5 (the numbers).",
    ),
]

DpiOpt = Annotated[
    int,
    typer.Option(
        "--dpi",
        metavar=f"{DPI_RANGE[0]}..{DPI_RANGE[1]}",
        callback=use_dpi,
        help=f"Pixels per inch of a .png figure ({DPI_RANGE[0]} to {DPI_RANGE[1]}; 300 for "
        "print). .svg/.pdf stay vector (a 3-D surface's facets are drawn at this dpi).",
    ),
]
DEFAULT_DPI = PNG_DPI
