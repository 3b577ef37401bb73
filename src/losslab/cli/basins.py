"""`losslab basins`: which minimum each start of a grid ends in, under one optimizer."""

from __future__ import annotations

import time
from typing import Annotated

import typer

import losslab
from losslab.cli.descent import build_optimizer
from losslab.cli.errors import computing
from losslab.cli.options import (
    DEFAULT_DPI,
    DpiOpt,
    LrOpt,
    NStepsOpt,
    OptimizerOpt,
    OutOpt,
    SurfaceArg,
)
from losslab.cli.output import check_output, write_output
from losslab.cli.render import basins_table, console


def basins(
    surface: SurfaceArg,
    optimizer: OptimizerOpt = "gd",
    lr: LrOpt = None,
    resolution: Annotated[
        int,
        typer.Option(
            "--resolution",
            "-r",
            min=2,
            help="Starts per axis: a 2-D map runs resolution^2 starts in one batch "
            "(100 is quick, 200 takes seconds).",
        ),
    ] = 200,
    n_steps: NStepsOpt = 500,
    out: OutOpt = None,
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Basins of attraction: the share of starts that end in each known minimum.

    Runs the optimizer from every point of a grid over the window, all in one batch. With
    --out, also draw the basin map (.png/.svg/.pdf/.html) or save it (.json/.h5).
    """
    out = check_output(out)
    objective = losslab.surface(surface)
    chosen = build_optimizer(optimizer, lr, objective)
    started = time.perf_counter()
    with computing(f"mapping the basins of {objective.name}"):
        basin_map = losslab.basins(objective, chosen, resolution=resolution, n_steps=n_steps)
    seconds = time.perf_counter() - started
    console().print(basins_table(basin_map, seconds))
    if out is not None:
        write_output(out, basin_map, lambda plot: plot.basin_map(basin_map, objective=objective))
        console().print(f"wrote {out}")
