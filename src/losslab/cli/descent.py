"""`losslab race` and `losslab descend`: run optimizers from one start and show where they went."""

from __future__ import annotations

from enum import StrEnum
from types import ModuleType
from typing import Annotated

import typer

import losslab
from losslab._checks import check_positive
from losslab.cli.errors import computing
from losslab.cli.options import (
    DEFAULT_DPI,
    OPTIMIZER_NAMES,
    DpiOpt,
    LrOpt,
    NStepsOpt,
    OptimizerOpt,
    OutOpt,
    StartOpt,
    SurfaceArg,
)
from losslab.cli.output import check_output, write_output
from losslab.cli.parsing import parse_point, split_optimizer_specs
from losslab.cli.render import console, diagnoses_view, runs_table
from losslab.descent import Race, Trajectory
from losslab.errors import LosslabError
from losslab.objectives import Surface
from losslab.objectives.defaults import default_start, optimizer_lr
from losslab.optim import Optimizer

DEFAULT_RACE = "gd,momentum,newton"


class View(StrEnum):
    """How `descend` draws its run."""

    landscape = "landscape"  # contour in 2-D, curve in 1-D
    surface = "surface"  # a 3-D surface (2-D objectives only)


def resolve_start(surface: Surface, text: str | None) -> tuple[float, ...]:
    """The parsed --start, or the surface's default start."""
    return default_start(surface) if text is None else parse_point(text, surface.n_params)


def build_optimizers(specs: list[str], lr: float | None, surface: Surface) -> list[Optimizer]:
    """Optimizer specs -> optimizers. A spec's own lr (`adam:lr=0.1`) wins, then --lr for all;
    without either each optimizer takes its own default on this surface (`optimizer_lr`: adam
    does not race at gd's rate)."""
    # Checked here too: a race of Newton alone ignores the shared lr but must not accept -0.1.
    shared = None if lr is None else check_positive("lr", lr)
    return [
        losslab.optim.from_spec(spec, lr=shared or optimizer_lr(surface, _name(spec)))
        for spec in split_optimizer_specs(specs)
    ]


def _name(spec: str) -> str:
    return spec.partition(":")[0].strip()


def build_optimizer(spec: str, lr: float | None, surface: Surface) -> Optimizer:
    """Exactly one optimizer from --optimizer (its spec may hold commas between options)."""
    chosen = build_optimizers([spec], lr, surface)
    if len(chosen) != 1:
        raise LosslabError(
            f"--optimizer {spec!r} names {len(chosen)} optimizers: give one "
            "(compare several with 'losslab race')."
        )
    return chosen[0]


def run_all(
    surface: Surface, optimizers: list[Optimizer], start: tuple[float, ...], n_steps: int
) -> Race:
    """Every optimizer from the same start, in lockstep (one batched objective call a step)."""
    with computing(f"running {', '.join(o.name for o in optimizers)} on {surface.name}"):
        return losslab.race(surface, optimizers, start, n_steps)


RaceOptimizersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--optimizers",
        "--optimizer",
        "-p",
        metavar="SPECS",
        show_default=False,
        help="Optimizers to race, comma-separated: an item 'key=value' is a hyperparameter "
        "of the optimizer before it, any other item starts a new optimizer (e.g. -p "
        f"gd,momentum:beta=0.95,adam). May be repeated. Names: {OPTIMIZER_NAMES}. "
        f"Default: {DEFAULT_RACE}.",
    ),
]


def race(
    surface: SurfaceArg,
    optimizers: RaceOptimizersOpt = None,
    start: StartOpt = None,
    lr: LrOpt = None,
    n_steps: NStepsOpt = 500,
    out: OutOpt = None,
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Race several optimizers from one start: a table of where each one ended, and why.

    --optimizers gd,momentum:beta=0.95,lr=0.01,newton:damping=0.1 races three optimizers:
    gd, momentum with beta 0.95 and lr 0.01, and damped Newton.

    With --out, also draw the race (.png/.svg/.pdf/.html) or save every run (.json/.h5).
    """
    out = check_output(out)
    objective = losslab.surface(surface)
    point = resolve_start(objective, start)
    chosen = build_optimizers(optimizers or [DEFAULT_RACE], lr, objective)
    raced = run_all(objective, chosen, point, n_steps)
    diagnoses = losslab.diagnose(objective, raced)
    console().print(runs_table(objective, raced, point, diagnoses))
    console().print(diagnoses_view(raced, diagnoses))
    if out is not None:
        write_output(out, raced, lambda plot: plot.race(objective, raced))
        console().print(f"wrote {out}")


def descend(
    surface: SurfaceArg,
    optimizer: OptimizerOpt = "gd",
    start: StartOpt = None,
    lr: LrOpt = None,
    n_steps: NStepsOpt = 500,
    view: Annotated[
        View,
        typer.Option(
            help="Figure for --out: the landscape (a contour, or a curve in 1-D) or a 3-D surface.",
        ),
    ] = View.landscape,
    out: OutOpt = None,
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Descend with one optimizer from one start: where it ended, and why.

    With --out, also draw the path on the landscape (.png/.svg/.pdf/.html) or save the
    trajectory (.json/.h5, loadable with losslab.load_result).
    """
    out = check_output(out)
    objective = losslab.surface(surface)
    if view is View.surface and objective.n_params != 2:
        raise LosslabError(
            f"--view surface needs a 2-D surface; '{objective.name}' is "
            f"{objective.n_params}-D: use --view landscape."
        )
    point = resolve_start(objective, start)
    chosen = build_optimizer(optimizer, lr, objective)
    trajectories = run_all(objective, [chosen], point, n_steps)
    diagnoses = losslab.diagnose(objective, trajectories)
    console().print(runs_table(objective, trajectories, point, diagnoses))
    console().print(diagnoses_view(trajectories, diagnoses))
    if out is not None:
        (run,) = trajectories
        write_output(out, run, lambda plot: _descent_figure(plot, objective, trajectories, view))
        console().print(f"wrote {out}")


def _descent_figure(
    plot: ModuleType, objective: Surface, trajectories: list[Trajectory], view: View
):
    """The path on the landscape (curve_1d in 1-D, contour in 2-D) or on the 3-D surface."""
    if view is View.surface:
        return plot.surface_3d(objective, trajectories=trajectories)
    if objective.n_params == 1:
        return plot.curve_1d(objective, trajectories=trajectories)
    return plot.view(objective, trajectories=trajectories)
