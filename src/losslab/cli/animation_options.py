"""Options every `losslab animate` sub-command shares (--out, --frames, --fps, --size, --log)
and `Video`: those options checked before any work, and the one way a command writes its
animation (a progress bar while the frames render, then every file)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

LANDSCAPE_SUFFIXES = (".h5", ".hdf5")

OutsOpt = Annotated[
    list[Path],
    typer.Option(
        "--out",
        "-o",
        metavar="FILE.mp4|FILE.gif",
        show_default=False,
        help="The file to write, .mp4 (H.264, plays everywhere) or .gif (loops forever). "
        "Repeat it for several: the frames are rendered once for all of them.",
    ),
]
FramesOpt = Annotated[
    int, typer.Option("--frames", help="Number of frames (1 to 3000).", show_default=True)
]
FpsOpt = Annotated[int, typer.Option("--fps", help="Frames per second (1 to 60).")]
SizeOpt = Annotated[
    str,
    typer.Option(
        "--size",
        metavar="WxH",
        help="Width x height in pixels, both even (H.264 needs it), e.g. 1280x720.",
    ),
]
LogOpt = Annotated[
    bool | None,
    typer.Option(
        "--log/--no-log",
        show_default=False,
        help="Height and colour by log10 of the loss. Default: as the surface suits "
        "(rosenbrock is drawn in log).",
    ),
]
ResolutionOpt = Annotated[
    int,
    typer.Option(
        min=2,
        max=400,
        help="Grid points per axis of a surface (a landscape file keeps its own). Every "
        "frame redraws the whole surface: 80 costs about 0.15 s a frame.",
    ),
]


class Video:
    """The checked --out, --frames, --fps and --size of one command."""

    def __init__(self, out: list[Path], frames: int, fps: int, size: str):
        from losslab.plot.video import check_outputs, check_video, parse_size

        self.paths = check_outputs(out)
        self.width, self.height = parse_size(size)
        check_video(frames, fps, self.width, self.height)
        self.frames, self.fps = frames, fps

    def write(self, animation) -> None:
        """Render once (a progress bar on a terminal), write every file, say where."""
        from losslab.cli.progress import progress_bar
        from losslab.cli.render import console
        from losslab.plot.video import save_animation

        printer = console()
        printer.print(f"rendering {self.frames} frames at {self.width}x{self.height}")
        sys.stdout.flush()  # said before the long part starts, also into a pipe
        with progress_bar() as track:
            written = save_animation(
                animation,
                self.paths,
                fps=self.fps,
                width=self.width,
                height=self.height,
                progress=track(f"rendering {self.frames} frames"),
            )
        seconds = self.frames / self.fps
        for path in written:
            printer.print(
                f"wrote {path} ({self.frames} frames, {self.width}x{self.height}, "
                f"{self.fps} fps, {seconds:.3g} s)"
            )
