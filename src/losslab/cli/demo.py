"""`losslab demo`: a small gallery of the lessons, written into one folder in seconds.

Each entry computes with the library once and draws with `losslab.plot`; multi-panel figures
are a bare matplotlib Figure whose axes are handed to the static functions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

import losslab
from losslab.cli.options import DEFAULT_DPI, DpiOpt
from losslab.cli.output import save_drawn
from losslab.cli.render import console, files_list
from losslab.errors import LosslabError

BASIN_RESOLUTION = 100
RACE_STEPS = 500


def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Folder for the gallery; created if missing.",
        ),
    ] = Path("demo"),
    dpi: DpiOpt = DEFAULT_DPI,
) -> None:
    """Write a gallery of figures: contours, an optimizer race, a saddle, basins, 1-D and 3-D.

    Files: contours.png, race_rosenbrock.png, race_rosenbrock.html, saddle_hessian.png,
    himmelblau_sgd.png, double_well.png, surface_3d.png.
    """
    folder = prepare_folder(out)
    started = time.perf_counter()
    written = [path for entry in GALLERY for path in entry(folder)]
    console().print(files_list(written, time.perf_counter() - started))


def prepare_folder(path: Path) -> Path:
    """Create the folder (and its parents) or fail with one line if it cannot be written."""
    if path.exists() and not path.is_dir():
        raise LosslabError(f"--out '{path}' is a file: give a folder for the gallery.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LosslabError(f"cannot create folder '{path}': {error.strerror}.") from None
    if not os.access(path, os.W_OK):
        raise LosslabError(f"cannot write into folder '{path}': it is not writable.")
    return path


# -- the entries: each takes the folder and returns the files it wrote ------------------------


def contours(folder: Path) -> list[Path]:
    """The well-conditioned bowl beside Rosenbrock's curved valley."""
    from matplotlib.figure import Figure

    from losslab.plot import static

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    static.contour(losslab.surface("bowl"), ax=left)
    static.contour(losslab.surface("rosenbrock"), ax=right)
    return [save_drawn(figure, folder / "contours.png")]


def rosenbrock_race(folder: Path) -> list[Path]:
    """GD, momentum and Newton from (-1.5, 2): crawl, overshoot, jump."""
    from losslab.plot import interactive, static

    rosenbrock = losslab.surface("rosenbrock")
    optimizers = [losslab.optim.from_spec(spec, lr=1e-3) for spec in ("gd", "momentum", "newton")]
    runs = losslab.race(rosenbrock, optimizers, (-1.5, 2.0), RACE_STEPS)
    return [
        save_drawn(static.race(rosenbrock, runs), folder / "race_rosenbrock.png"),
        save_drawn(interactive.race(rosenbrock, runs), folder / "race_rosenbrock.html"),
    ]


def saddle_hessian(folder: Path) -> list[Path]:
    """The saddle x^2 - y^2 at the origin: eigenvalues +2 and -2."""
    from losslab.plot import static

    saddle = losslab.surface("saddle")
    found = losslab.inspect(saddle, (0.0, 0.0))
    return [save_drawn(static.hessian_view(found, saddle), folder / "saddle_hessian.png")]


def himmelblau_noise(folder: Path) -> list[Path]:
    """GD and noisy SGD from the origin, and the basin map of each."""
    from matplotlib.figure import Figure

    from losslab.plot import static

    himmelblau = losslab.surface("himmelblau")
    gd = losslab.optim.gd(0.01)
    noisy = losslab.optim.sgd_noise(0.01, noise=40.0, seed=0)
    runs = losslab.race(himmelblau, [gd, noisy], (0.0, 0.0), 300)
    maps = [
        losslab.basins(himmelblau, optimizer, resolution=BASIN_RESOLUTION, n_steps=300)
        for optimizer in (gd, noisy)
    ]
    figure = Figure(figsize=(16, 5), layout="constrained")
    paths, gd_basins, noisy_basins = figure.subplots(1, 3)
    static.view(himmelblau, trajectories=runs, ax=paths)
    static.basin_map(maps[0], objective=himmelblau, ax=gd_basins)
    static.basin_map(maps[1], objective=himmelblau, ax=noisy_basins)
    return [save_drawn(figure, folder / "himmelblau_sgd.png")]


def double_well(folder: Path) -> list[Path]:
    """1-D: GD settles in the shallow well, momentum rolls over into the deep one."""
    from losslab.plot import static

    well = losslab.surface("double_well")
    optimizers = [losslab.optim.from_spec(spec, lr=0.05) for spec in ("gd", "momentum")]
    runs = losslab.race(well, optimizers, (2.2,), 300)
    return [save_drawn(static.curve_1d(well, trajectories=runs), folder / "double_well.png")]


def himmelblau_3d(folder: Path) -> list[Path]:
    """Himmelblau as a 3-D surface with a GD path from the origin."""
    from losslab.plot import static

    himmelblau = losslab.surface("himmelblau")
    run = losslab.descend(himmelblau, losslab.optim.gd(0.01), (0.0, 0.0), 200)
    drawn = static.surface_3d(himmelblau, trajectories=[run])
    return [save_drawn(drawn, folder / "surface_3d.png")]


GALLERY: tuple[Callable[[Path], list[Path]], ...] = (
    contours,
    rosenbrock_race,
    saddle_hessian,
    himmelblau_noise,
    double_well,
    himmelblau_3d,
)
