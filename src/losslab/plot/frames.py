"""Draw an `Animation`'s frames with matplotlib: the figure is drawn ONCE, and each frame only
moves what changes (3-D cameras, the shown part of paths, head markers), paints it over a copy
of the still background and reads the pixels back. Rebuilding the figure per frame would cost
its 3-D surface (0.1-0.3 s) and every contour every frame.

    renderer = FrameRenderer(animation, width=640, height=480)
    image = renderer.frame(0)                     # (480, 640, 3) uint8
    frames = render_frames(animation, 640, 480, progress=lambda done, total: ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from losslab.plot import backend_mpl
from losslab.plot.animation import END_MARKERS, Animation, path_steps
from losslab.plot.scene import Markers, Path

# A turning 3-D panel is inset by this share of its width on each side: its z ticks swap
# sides as the camera goes round, and the layout was made for the first view.
TURN_MARGIN = 0.05
PANEL_GAP = 0.12  # constrained layout's wspace between panels (a share of a panel's width)
STACK_BELOW = 1.15  # width / height: a frame narrower than this stacks two panels
HEAD_SIZE = 9  # points: where each revealed path is now
Progress = Callable[[int, int], object] | None


@dataclass(frozen=True)
class _Revealed:
    """A revealed path as drawn: its line, its points (k,) and their steps, its head marker."""

    line: object
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray | None
    steps: np.ndarray
    head: object
    three_d: bool
    panel: int


class FrameRenderer:
    """The animation's figure, drawn once at width x height pixels; `frame(i)` updates it to
    frame i and returns its pixels (height, width, 3) uint8.

    The figure keeps the scene's width in inches (text stays the size it has in a static
    figure) at dpi = width / inches; its layout is computed on the first draw and then frozen,
    so panels do not jump while a 3-D axis turns and its tick labels change length. What stays
    still is drawn once; per frame only what moves is painted over a copy of it."""

    def __init__(self, animation: Animation, width: int, height: int):
        self.animation = animation
        self.width, self.height = int(width), int(height)
        inches = animation.scene.size[0]
        dpi = self.width / inches
        scene = framed(animation.scene, inches, self.height / dpi)
        # The layout is made for unzoomed 3-D boxes; a camera's zoom then fills the room that
        # constrained layout left around them (zoomed first, the layout shrinks everything).
        zooms = {i: p.camera.zoom for i, p in enumerate(scene.panels) if p.camera is not None}
        self.figure = backend_mpl.draw(_unzoomed(scene))
        self.figure.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.axes = {
            ax.get_gid(): ax for ax in self.figure.axes if str(ax.get_gid()).startswith("losslab")
        }
        self._paths: list[_Revealed] = []
        self._ends: list = []  # (line, last step of its run, three_d)
        for index, panel in enumerate(scene.panels):
            self._collect(index, panel)
        # Draw what stays still once, as a background; per frame paint only what moves over
        # a copy of it (blitting): the paths of 2-D panels, and whole 3-D panels (a turning
        # camera moves everything in them). A 2-D contour is then drawn once, not per frame.
        turning = {index for index, _ in animation.cameras}
        turning |= {p.panel for p in self._paths if p.three_d}  # 3-D panels with moving paths
        self._moving = [self._panel_axes(index) for index in sorted(turning)]
        self._moving += [a for p in self._paths if not p.three_d for a in (p.line, p.head)]
        self._moving += [line for line, _, three_d in self._ends if not three_d]
        for artist in self._moving:
            artist.set_animated(True)  # left out of canvas.draw()
        if len(scene.panels) > 1:
            # room between panels: for the tick labels a turning 3-D axis swings to its other
            # side (its z ticks would run into the colour bar beside it), and so that a colour
            # bar's label is not read as the label of the axis beside it
            self.figure.get_layout_engine().set(wspace=PANEL_GAP)
        self.canvas.draw()
        self.figure.set_layout_engine("none")  # frozen where constrained layout put things
        for index in {index for index, _ in animation.cameras}:
            inset(self._panel_axes(index), TURN_MARGIN)  # animated: not in the background
        for index, zoom in zooms.items():
            self._panel_axes(index).set_box_aspect(None, zoom=zoom)
        if any(zoom != 1.0 for index, zoom in zooms.items() if index not in turning):
            self.canvas.draw()  # a still 3-D panel belongs to the background, zoomed
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _panel_axes(self, index: int):
        return self.axes[f"losslab-panel-{index}"]

    def _collect(self, index: int, panel) -> None:
        """Pair each revealed Path (and each end marker) of the panel with the line the
        backend drew for it: lines carry their item's gid, in drawing order."""
        ax = self._panel_axes(index)
        three_d = panel.kind == "surface"
        lines = {}
        for line in ax.get_lines():
            lines.setdefault(line.get_gid(), []).append(line)
        seen: dict[str, int] = {}
        last_of_group: dict[str, float] = {}
        for item in panel.items:
            if not isinstance(item, Path | Markers) or getattr(item, "axis", "y") == "y2":
                continue
            gid = f"losslab-{item.name}"
            k = seen.get(gid, 0)
            seen[gid] = k + 1
            if gid not in lines or k >= len(lines[gid]):
                continue
            line = lines[gid][k]
            if isinstance(item, Path) and item.name in self.animation.reveal:
                steps = path_steps(item, panel)
                last_of_group[item.group] = float(np.nanmax(steps)) if len(steps) else 0.0
                colour = item.colour or line.get_color()
                head = ax.plot(
                    *([item.x[:1], item.y[:1]] + ([item.z[:1]] if three_d else [])),
                    ls="none",
                    zorder=20,
                    gid="losslab-head",
                    **{**backend_mpl.marker_kwargs("current", colour), "ms": HEAD_SIZE},
                )[0]
                self._paths.append(
                    _Revealed(line, item.x, item.y, item.z, steps, head, three_d, index)
                )
            elif isinstance(item, Markers) and item.name in END_MARKERS:
                last = (
                    float(np.nanmax(item.steps))
                    if item.steps is not None and len(item.steps)
                    else last_of_group.get(item.group, np.inf)
                )
                self._ends.append((line, last, three_d))

    def frame(self, i: int) -> np.ndarray:
        """(height, width, 3) uint8: the picture of frame i."""
        for index, views in self.animation.cameras:
            elevation, azimuth = views[i]
            self._panel_axes(index).view_init(elev=float(elevation), azim=float(azimuth))
        step = self.animation.step(i)
        for p in self._paths:
            shown = len(p.x) if not np.isfinite(step) else np.searchsorted(p.steps, step, "right")
            n = max(int(shown), 1)  # the start is always there
            if p.three_d:
                p.line.set_data_3d(p.x[:n], p.y[:n], p.z[:n])
                p.head.set_data_3d(p.x[n - 1 : n], p.y[n - 1 : n], p.z[n - 1 : n])
            else:
                p.line.set_data(p.x[:n], p.y[:n])
                p.head.set_data(p.x[n - 1 : n], p.y[n - 1 : n])
            p.head.set_visible(n < len(p.x))  # at the end the run's own end marker takes over
        for line, last, _ in self._ends:
            line.set_visible(step >= last)
        self.canvas.restore_region(self._background)
        for artist in self._moving:  # 3-D panels first, then the paths over 2-D ones
            self.figure.draw_artist(artist)  # an invisible one draws nothing
        pixels = np.asarray(self.canvas.buffer_rgba())[..., :3]
        return fit(pixels, self.height, self.width)


def framed(scene, width: float, height: float):
    """The scene at width x height inches. A frame near square stacks a row of two panels:
    side by side, two square panels fill only half of its height."""
    if width < STACK_BELOW * height and scene.columns is None and len(scene.panels) == 2:
        scene = replace(scene, columns=1, widths=None)
    return replace(scene, size=(width, height))


def _unzoomed(scene):
    panels = tuple(
        replace(p, camera=replace(p.camera, zoom=1.0)) if p.camera is not None else p
        for p in scene.panels
    )
    return replace(scene, panels=panels)


def inset(ax, margin: float) -> None:
    """Shrink an Axes' box by `margin` of its width on the left and right."""
    box = ax.get_position()
    ax.set_position([box.x0 + margin * box.width, box.y0, (1 - 2 * margin) * box.width, box.height])


def fit(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """The canvas' pixels at exactly height x width: a canvas rounded a pixel off is padded
    with white or cropped (a copy: the canvas' buffer is reused by the next draw)."""
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = min(height, pixels.shape[0]), min(width, pixels.shape[1])
    out[:h, :w] = pixels[:h, :w]
    return out


def render_frames(
    animation: Animation, width: int, height: int, *, progress: Progress = None
) -> np.ndarray:
    """(n_frames, height, width, 3) uint8, every frame drawn once; progress(done, total)
    after each frame (a KeyboardInterrupt raised there stops the render)."""
    renderer = FrameRenderer(animation, width, height)
    frames = np.empty((animation.n_frames, height, width, 3), dtype=np.uint8)
    for i in range(animation.n_frames):
        frames[i] = renderer.frame(i)
        if progress is not None:
            progress(i + 1, animation.n_frames)
    return frames
