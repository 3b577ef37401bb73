"""`losslab inspect` and `losslab critical`: the Hessian at a point, and every critical point."""

from __future__ import annotations

from typing import Annotated

import typer

import losslab
from losslab.cli.errors import computing
from losslab.cli.options import DEFAULT_DPI, DpiOpt, OutOpt, SurfaceArg
from losslab.cli.output import check_output, write_output
from losslab.cli.parsing import parse_point
from losslab.cli.render import console, critical_point_view, critical_table
from losslab.results import to_json


def inspect(
    surface: SurfaceArg,
    at: Annotated[
        str,
        typer.Option(
            "--at",
            "-a",
            metavar="X,Y",
            show_default=False,
            help="The point to inspect: X,Y on a 2-D surface, one number on a 1-D one "
            "(e.g. --at 0,0 on the saddle).",
        ),
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the result as JSON (the same dict that --out FILE.json saves).",
        ),
    ] = False,
    out: OutOpt = None,
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Local geometry at a point: gradient, Hessian, its eigenvalues and the kind of point.

    Both eigenvalues positive: a minimum; both negative: a maximum; mixed signs: a saddle.
    With --out, also draw the Hessian view (.png/.svg/.pdf/.html) or save the numbers (.json/.h5).
    """
    out = check_output(out)
    objective = losslab.surface(surface)
    point = parse_point(at, objective.n_params, name="at")
    with computing(f"inspecting {objective.name} at {at}"):
        found = losslab.inspect(objective, point)
    if as_json:
        typer.echo(to_json(found, indent=2))
    else:
        console().print(critical_point_view(found))
    if out is not None:
        write_output(out, found, lambda plot: plot.hessian_view(found, objective))
        if not as_json:  # keep --json output parseable
            console().print(f"wrote {out}")


def critical(surface: SurfaceArg, out: OutOpt = None, dpi: DpiOpt = DEFAULT_DPI) -> None:
    """Every critical point in the surface's window, classified, with counts per kind.

    With --out, also draw the landscape with the points marked (.png/.svg/.pdf/.html) or save
    them (.json/.h5: a CriticalPoints result, loadable with losslab.load_result).
    """
    out = check_output(out)
    objective = losslab.surface(surface)
    with computing(f"finding the critical points of {objective.name}"):
        points = losslab.critical_points(objective)
    console().print(critical_table(objective, points))
    if out is not None:
        write_output(out, points, lambda plot: plot.view(objective, critical_points=points))
        console().print(f"wrote {out}")
