"""What an animation is, as plain data: a `Scene` drawn once, and what changes per frame.

    Animation(scene, n_frames=100, cameras=((0, turntable(100)),), progress=reveal(100))

Per frame, only two things move:
- the camera of 3-D panels: `cameras` pairs a panel index with (n_frames, 2) rows of
  (elevation, azimuth) in degrees;
- how much of the paths is shown: `progress` (n_frames,) in [0, 1] is the share of the
  largest step of the paths named in `reveal` (e.g. "path", "loss", "trajectory"); a path
  shows its points up to that step, with a head marker at its last shown point, and the end
  markers ("end", "diverged") of a run appear once its last step is shown.

The builders below make the animations of `losslab animate` from results (Landscapes, a Race,
a TrainingRun) through the scene builders of `build`, so a frame is the same picture as the
static one. `losslab.plot.frames` draws them with matplotlib, `losslab.plot.video` writes
them. No matplotlib here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from losslab.errors import LosslabError
from losslab.plot import build, style
from losslab.plot.scene import Axis, Camera, LegendEntry, Markers, Panel, Path, Scene

# Markers that mark where a revealed run ended: hidden until its last step is shown.
END_MARKERS = ("end", "diverged")
# The race's 3-D panel: its box as large as its cell lets it be, with its tick labels inside
# the frame whichever way it turns (zoomed, its z labels leave the frame's right edge).
RACE_CAMERA = Camera(zoom=1.0)
HOLD = 0.15  # a reveal ends this share of the frames before the last: the whole path rests
ANIMATION_SIZE = (6.4, 4.8)  # inches; the renderer scales it to the pixel size asked for


@dataclass(frozen=True)
class Animation:
    """A scene and its changes per frame (see the module docstring).

    scene: drawn once. n_frames: >= 1. cameras: ((panel index, (n_frames, 2) elevation and
    azimuth in degrees), ...) for 'surface' panels. progress: (n_frames,) in [0, 1], or None
    (every path whole). reveal: names of the Paths revealed by `progress`."""

    scene: Scene
    n_frames: int
    cameras: tuple[tuple[int, np.ndarray], ...] = ()
    progress: np.ndarray | None = None
    reveal: tuple[str, ...] = ()

    def __post_init__(self):
        if self.n_frames < 1:
            raise LosslabError(f"an animation needs at least 1 frame, not {self.n_frames}.")
        for index, views in self.cameras:
            if self.scene.panels[index].kind != "surface":
                raise LosslabError(f"panel {index} is not a 3-D surface: it has no camera.")
            if np.shape(views) != (self.n_frames, 2):
                raise LosslabError(
                    f"the cameras of panel {index} have shape {np.shape(views)}, "
                    f"not ({self.n_frames}, 2)."
                )
        if self.progress is not None and np.shape(self.progress) != (self.n_frames,):
            raise LosslabError(
                f"progress has shape {np.shape(self.progress)}, not ({self.n_frames},)."
            )

    @functools.cached_property  # read by every frame's `step`
    def last_step(self) -> float:
        """The largest step of the revealed paths (0 when none)."""
        steps = [
            float(np.nanmax(path_steps(item, panel)))
            for panel in self.scene.panels
            for item in panel.items
            if isinstance(item, Path) and item.name in self.reveal and len(item.x)
        ]
        return max(steps, default=0.0)

    def step(self, frame: int) -> float:
        """The last step shown in `frame` (inf: everything)."""
        if self.progress is None:
            return np.inf
        return float(self.progress[frame]) * self.last_step


def path_steps(item: Path, panel: Panel) -> np.ndarray:
    """(k,) the step of each point of a path: its `steps`, its x on a chart (a loss curve is
    drawn against the step), else its index."""
    if item.steps is not None:
        return np.asarray(item.steps, dtype=np.float64)
    if panel.kind == "chart":
        return np.asarray(item.x, dtype=np.float64)
    return np.arange(len(item.x), dtype=np.float64)


# -- what changes per frame ---------------------------------------------------------------------


def turntable(
    n_frames: int, *, elevation: float = 30.0, start: float = -60.0, turn: float = 360.0
) -> np.ndarray:
    """(n_frames, 2) a camera turning `turn` degrees of azimuth at a fixed elevation; a full
    turn never repeats its first view as its last, so the file loops without a stutter."""
    steps = n_frames if turn % 360 == 0 else max(n_frames - 1, 1)
    azimuth = start + turn * np.arange(n_frames) / steps
    return np.column_stack([np.full(n_frames, float(elevation)), azimuth])


def reveal(n_frames: int, hold: float = HOLD) -> np.ndarray:
    """(n_frames,) progress from 0 to 1 over the first (1 - hold) of the frames, then 1: the
    whole path rests on screen before the file loops."""
    moving = max(1, int(round(n_frames * (1.0 - hold))))
    return np.minimum(np.arange(n_frames) / max(moving - 1, 1), 1.0)


# -- the animations of `losslab animate` --------------------------------------------------------


def rotating(scene: Scene, n_frames: int, *, elevation: float = 30.0) -> Animation:
    """Every 3-D panel of `scene` turning once around, together. A turning panel's z label
    moves into its title: as the camera goes round the z axis swaps sides, and its label
    would leave the picture (the colour bar, if any, is labelled too)."""
    views = turntable(n_frames, elevation=elevation)
    turning = [i for i, p in enumerate(scene.panels) if p.kind == "surface"]
    if not turning:
        raise LosslabError("a rotating animation needs a scene with a 3-D surface panel.")
    panels = tuple(
        _z_in_title(panel) if i in turning else panel for i, panel in enumerate(scene.panels)
    )
    return Animation(replace(scene, panels=panels), n_frames, tuple((i, views) for i in turning))


def _z_in_title(panel: Panel) -> Panel:
    if panel.z is None or not panel.z.label:
        return panel
    title = f"{panel.title}\n(height: {panel.z.label})" if panel.title else ""
    return replace(panel, title=title, z=replace(panel.z, label=""))


def surface_animation(landscape, n_frames: int, *, log: bool | None = None) -> Animation:
    """A 2-D Landscape (of a surface, an expression or a network) as a turning 3-D surface."""
    scene = build.surface_scene(landscape, log=log)
    return rotating(replace(scene, size=ANIMATION_SIZE), n_frames)


def contrast_animation(contrast, n_frames: int) -> Animation:
    """The first lesson's pair (a `losslab.contrast.Contrast`): the convex bowl and a
    network's mountains turning together. Without colour bars: the z axes read the heights,
    and at 640 pixels the two surfaces need the width."""
    from losslab.plot.contrast import contrast_scene

    scene = contrast_scene(contrast, colour_bars=False)
    return rotating(replace(scene, size=ANIMATION_SIZE), n_frames)


def race_animation(
    landscape,
    trajectories,
    n_frames: int,
    *,
    minima=None,
    log: bool | None = None,
    surface=None,
) -> Animation:
    """Optimizers descending together, step by step: on the contour (left) and on the 3-D
    surface (right, turning a quarter around as they go). trajectories: a Race or a list of
    Trajectories on the 2-D `landscape`. surface: the Landscape of the 3-D panel when it
    should be coarser than the contour's (it is redrawn every frame as the camera turns;
    default `landscape`)."""
    contour = build.contour_panel(landscape, trajectories=trajectories, minima=minima, log=log)
    surface = build.surface_scene(
        landscape if surface is None else surface,
        trajectories=trajectories,
        minima=minima,
        log=log,
    ).panel
    title = build.race_scene(landscape, trajectories, minima=minima, log=log).title
    # One colour bar and its label (the contour's): the 3-D panel gets the width, and its
    # turning z label never runs into the colour bar beside it.
    unlabelled = replace(surface.z, label="")
    scene = Scene(
        (
            replace(contour, items=runs_only(contour.items), title="", legend="figure"),
            replace(
                surface,
                items=build.without_colour_bars(surface.items),
                title="",
                legend="none",
                z=unlabelled,
                camera=RACE_CAMERA,
            ),
        ),
        title=title,
        size=ANIMATION_SIZE,
        widths=(0.46, 0.54),
    )
    return Animation(
        scene,
        n_frames,
        cameras=((1, turntable(n_frames, turn=90.0)),),
        progress=reveal(n_frames),
        reveal=("path",),
    )


def training_animation(
    landscape, run, n_frames: int, *, metric: str = "loss", log: bool = False, title: str = ""
) -> Animation:
    """A network's training path (a TrainingRun) moving over its landscape on the plane of
    the run's PCA directions (left), the training loss per step beside it (right)."""
    contour = build.slice_contour_panel(landscape, metric=metric, log=log, trajectory=run)
    steps = np.asarray(run.steps, dtype=np.float64)
    items = tuple(
        replace(item, steps=steps) if isinstance(item, Path) and item.name == "trajectory" else item
        for item in contour.items
    )
    losses = np.asarray(run.train_loss, dtype=np.float64)
    finite = losses[np.isfinite(losses)]
    # a log axis only where the loss falls more than a decade: within one, log ticks are few
    # and read as 2x10^0
    log_axis = bool(len(finite) and finite.min() > 0 and finite.max() > 10 * finite.min())
    curve = Panel(
        "chart",
        (
            Path(
                steps,
                losses,
                style="loss",
                colour=style.TRAJECTORY_COLOUR,
                label="training loss",
                name="loss",
            ),
        ),
        title="training loss (log scale)" if log_axis else "training loss",
        x=Axis("step", (0.0, max(1.0, float(steps[-1])))),
        # labelled: the contour's colour bar (log10(loss)) stands beside this axis, and its
        # label would be read as this one's
        y=Axis("loss", None, "log" if log_axis else "linear"),
        legend="none",
        grid=True,
    )
    scene = Scene(
        (replace(contour, items=items, title="", legend="none"), curve),
        title=title,
        size=ANIMATION_SIZE,
        widths=(0.58, 0.42),
    )
    return Animation(scene, n_frames, progress=reveal(n_frames), reveal=("trajectory", "loss"))


def runs_only(items) -> tuple:
    """Items with a legend of the runs alone: 640 pixels have no room for the entries that
    explain the markers (start, end, known minimum)."""
    return tuple(
        replace(item, show_legend=False) if isinstance(item, Markers) else item
        for item in items
        if not isinstance(item, LegendEntry)
    )
