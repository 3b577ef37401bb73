"""The `losslab` command: one sub-command per noun, each a thin shell over the library.

parse the text -> call losslab -> print a table (and write --out FILE by its extension)
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Annotated

import typer

from losslab._version import __version__
from losslab.cli import (
    animate,
    basins,
    catalog,
    connect,
    curvature,
    demo,
    descent,
    export,
    hessian,
    network,
    replot,
    serve,
    symmetry,
    view,
    widths,
)
from losslab.cli.errors import INTERRUPTED_EXIT_CODE, OneLineErrors

app = typer.Typer(
    name="losslab",
    cls=OneLineErrors,
    help="A laboratory for loss landscapes: surfaces, optimizer races, Hessians and basins.\n\n"
    "Start with 'losslab surfaces', then e.g. 'losslab race rosenbrock --out race.png'.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"losslab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """A laboratory for loss landscapes: surfaces, optimizer races, Hessians and basins."""


app.command("surfaces")(catalog.surfaces)
app.command("race")(descent.race)
app.command("descend")(descent.descend)
app.command("inspect")(curvature.inspect)
app.command("critical")(curvature.critical)
app.command("basins")(basins.basins)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("view")(view.view_command)
app.command("train")(network.train_command)
app.command("landscape")(network.landscape_command)
app.command("plot")(replot.plot_command)
app.command("export")(export.export_command)
app.command("hessian")(hessian.hessian_command)
app.command("permute")(symmetry.permute_command)
app.command("match")(symmetry.match_command)
app.command("connect")(connect.connect_command)
app.command("widths")(widths.widths_command)
app.add_typer(animate.app, name="animate")


def main() -> None:
    """Entry point of the `losslab` console script."""
    try:
        app(prog_name="losslab")
    except SystemExit as end:
        if end.code != INTERRUPTED_EXIT_CODE:
            raise
    except KeyboardInterrupt:  # a second Ctrl-C while the first one was being reported
        pass
    else:
        return
    # Interrupted (see errors.py): the command has cleaned up; skip the interpreter's
    # finalization, which aborts while a daemon thread is still inside torch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(INTERRUPTED_EXIT_CODE)
