"""`losslab animate`: animation files (.mp4, .gif) of surfaces, races, training runs and the
first lesson's contrast.

    losslab animate surface rosenbrock --out rosenbrock.mp4 --out rosenbrock.gif
    losslab animate race himmelblau --start 0,0 -p gd,momentum,adam --out race.mp4
    losslab animate training --model mlp --dataset digits --epochs 10 --out training.mp4
    losslab animate contrast --out contrast.mp4

Each sub-command: every option checked (outputs, --frames, --fps, --size) before any work,
then library -> `losslab.plot.animation` (what moves) -> `losslab.plot.video` (frames drawn once,
every file encoded from them, atomically; Ctrl-C leaves no file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from losslab.cli import animate_training
from losslab.cli.animation_options import (
    LANDSCAPE_SUFFIXES,
    FpsOpt,
    FramesOpt,
    LogOpt,
    OutsOpt,
    ResolutionOpt,
    SizeOpt,
    Video,
)
from losslab.cli.descent import RaceOptimizersOpt
from losslab.cli.errors import OneLineErrors
from losslab.cli.options import StartOpt
from losslab.errors import LosslabError

app = typer.Typer(
    name="animate",
    cls=OneLineErrors,
    help="Animation files (.mp4, .gif): a turning 3-D surface, an optimizer race, a network's "
    "training path, the convex bowl against a network's mountains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# -- surface ------------------------------------------------------------------------------------


@app.command("surface")
def surface_command(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SURFACE|FILE.h5",
            show_default=False,
            help="A built-in surface ('losslab surfaces'), an expression in x and y such as "
            "'x**2 + 10*y**2', or a 2-D landscape file from 'losslab landscape --out FILE.h5'.",
        ),
    ],
    out: OutsOpt,
    frames: FramesOpt = 100,
    fps: FpsOpt = 25,
    size: SizeOpt = "640x480",
    log: LogOpt = None,
    resolution: ResolutionOpt = 80,
) -> None:
    """A 3-D surface turning once around.

    losslab animate surface rosenbrock --out rosenbrock.mp4 --out rosenbrock.gif
    """
    from losslab.plot.animation import surface_animation

    video = Video(out, frames, fps, size)
    land = _landscape_of(source, resolution)
    video.write(surface_animation(land, frames, log=log))


def _landscape_of(source: str, resolution: int):
    """The 2-D Landscape to draw: a file's, or the surface evaluated on its window."""
    import losslab
    from losslab.landscapes import Landscape
    from losslab.landscapes.grid import evaluate_grid

    if Path(source).suffix.lower() in LANDSCAPE_SUFFIXES:
        result = losslab.load_result(source)
        if not isinstance(result, Landscape) or result.ndim != 2:
            what = (
                f"a {result.ndim}-D landscape"
                if isinstance(result, Landscape)
                else f"a {type(result).__name__}"
            )
            raise LosslabError(
                f"{source} holds {what}; 'animate surface' turns a 2-D landscape "
                "(losslab landscape --dims 2 --out FILE.h5)."
            )
        return result
    objective = losslab.surface(source)
    if objective.n_params != 2:
        raise LosslabError(
            f"'{objective.name}' is {objective.n_params}-D; 'animate surface' turns a 2-D "
            "surface (list them with 'losslab surfaces')."
        )
    return evaluate_grid(objective, resolution=resolution)


# -- race ---------------------------------------------------------------------------------------

CONTOUR_RESOLUTION = 120  # drawn once
SURFACE_RESOLUTION = 60  # the turning 3-D panel of a race is redrawn every frame


@app.command("race")
def race_command(
    surface: Annotated[
        str,
        typer.Argument(
            metavar="SURFACE",
            show_default=False,
            help="A built-in 2-D surface or an expression in x and y (as 'losslab race').",
        ),
    ],
    out: OutsOpt,
    optimizers: RaceOptimizersOpt = None,
    start: StartOpt = None,
    lr: Annotated[
        float | None,
        typer.Option("--lr", show_default=False, help="Learning rate shared by every optimizer."),
    ] = None,
    n_steps: Annotated[
        int, typer.Option("--n-steps", "-n", min=1, max=100_000, help="Steps per optimizer.")
    ] = 500,
    frames: FramesOpt = 100,
    fps: FpsOpt = 25,
    size: SizeOpt = "640x480",
    log: LogOpt = None,
) -> None:
    """Optimizers descending together, on the contour and on the 3-D surface.

    losslab animate race himmelblau --start 0,0 -p gd,momentum,adam --out race.mp4
    """
    import losslab
    from losslab.cli.descent import DEFAULT_RACE, build_optimizers, resolve_start, run_all
    from losslab.landscapes.grid import evaluate_grid
    from losslab.plot.animation import race_animation
    from losslab.plot.pictures import known_minima

    video = Video(out, frames, fps, size)
    objective = losslab.surface(surface)
    if objective.n_params != 2:
        raise LosslabError(
            f"'{objective.name}' is {objective.n_params}-D; 'animate race' draws a 2-D surface."
        )
    point = resolve_start(objective, start)
    chosen = build_optimizers(optimizers or [DEFAULT_RACE], lr, objective)
    raced = run_all(objective, chosen, point, n_steps)
    land = evaluate_grid(objective, resolution=CONTOUR_RESOLUTION)
    animation = race_animation(
        land,
        raced,
        frames,
        minima=known_minima(objective, land),
        log=log,
        surface=evaluate_grid(objective, resolution=SURFACE_RESOLUTION),
    )
    video.write(animation)


# -- training -----------------------------------------------------------------------------------

app.command("training")(animate_training.training_command)


# -- contrast -----------------------------------------------------------------------------------


@app.command("contrast")
def contrast_command(
    out: OutsOpt,
    frames: FramesOpt = 100,
    fps: FpsOpt = 25,
    size: SizeOpt = "640x480",
    resolution: Annotated[
        int, typer.Option(min=5, max=201, help="Grid points per axis of both surfaces.")
    ] = 41,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the network and its slice.")] = 0,
) -> None:
    """The first lesson: linear regression's convex bowl turning beside a network's mountains.

    Linear regression's MSE over its raw weights (w1, w2), and a genuinely non-convex slice of
    a network's loss, both computed by the library; prints the non-convex share of each.

    losslab animate contrast --out contrast.mp4
    """
    from losslab.cli.render import console
    from losslab.contrast import bowl_and_mountains
    from losslab.plot.animation import contrast_animation

    video = Video(out, frames, fps, size)
    contrast = bowl_and_mountains(resolution, seed=seed)
    console().print(
        f"non-convex share: bowl {contrast.bowl_share:.1%}, "
        f"network slice {contrast.mountains_share:.1%}"
    )
    video.write(contrast_animation(contrast, frames))
