"""Write frames as animation files: MP4 (H.264 through the ffmpeg that ships inside the
imageio-ffmpeg wheel) and GIF (Pillow). Nothing is fetched and no system ffmpeg or ImageMagick
is needed.

    paths = check_outputs([Path("a.mp4"), Path("a.gif")])      # before any work
    check_video(n_frames=100, fps=25, width=640, height=480)
    save_animation(animation, paths, fps=25, width=640, height=480, progress=...)

The frames are rendered once and every requested file is encoded from them. Each file is
written to a temporary file in its own folder and renamed into place at the end (losslab.io):
an error or Ctrl-C removes the temporary file, so an interrupted render leaves no file and an
existing file at the target is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from losslab.errors import LosslabError
from losslab.io import AtomicFile, check_writable

FORMATS = (".mp4", ".gif")
MAX_FRAMES = 3000
FPS_RANGE = (1, 60)
SIZE_RANGE = (16, 3840)  # pixels a side
MAX_BYTES = 4 * 2**30  # every frame is held in memory once: at most this many bytes of pixels


def check_outputs(paths: Sequence[Path | str]) -> list[Path]:
    """The output files, checked before any work: at least one, each .mp4 or .gif, each
    writable, no two the same."""
    if not paths:
        raise LosslabError("give at least one output file: --out NAME.mp4 or --out NAME.gif.")
    checked = []
    for path in map(Path, paths):
        if path.suffix.lower() not in FORMATS:
            raise LosslabError(
                f"--out {path}: an animation is written as {' or '.join(FORMATS)}, not "
                f"'{path.suffix or 'no extension'}'."
            )
        checked.append(check_writable(path))
    resolved = [p.resolve() for p in checked]
    if len(set(resolved)) != len(resolved):
        raise LosslabError("two --out options name the same file: give each its own path.")
    return checked


def parse_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480): width and height in pixels, each in SIZE_RANGE and even
    (H.264 in yuv420p halves the colour resolution, so both must be even)."""
    parts = text.lower().replace(" ", "").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise LosslabError(f"--size {text!r}: give WIDTHxHEIGHT in pixels, e.g. 640x480.") from None
    check_size(width, height)
    return width, height


def check_size(width: int, height: int) -> None:
    lo, hi = SIZE_RANGE
    for name, value in (("width", width), ("height", height)):
        if not lo <= value <= hi:
            raise LosslabError(f"--size: a {name} of {value} pixels; allowed {lo} to {hi}.")
        if value % 2:
            raise LosslabError(
                f"--size {width}x{height}: the {name} must be even (H.264 video needs even "
                f"sizes), e.g. {value + 1}."
            )


def check_video(n_frames: int, fps: int, width: int, height: int) -> None:
    """Frames, rate and size in their ranges, and every frame fitting in memory at once."""
    if not 1 <= n_frames <= MAX_FRAMES:
        raise LosslabError(f"--frames {n_frames}: allowed 1 to {MAX_FRAMES}.")
    if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
        raise LosslabError(f"--fps {fps}: allowed {FPS_RANGE[0]} to {FPS_RANGE[1]}.")
    check_size(width, height)
    size = n_frames * width * height * 3
    if size > MAX_BYTES:
        raise LosslabError(
            f"--frames {n_frames} at --size {width}x{height} hold {size / 2**30:.1f} GiB of "
            f"pixels; at most {MAX_BYTES / 2**30:.0f} GiB: fewer frames or a smaller size."
        )


def write_frames(frames: np.ndarray, path: Path, fps: int) -> Path:
    """Write frames (n, height, width, 3) uint8 to `path` (.mp4 or .gif), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise LosslabError(f"{path}: an animation is written as .mp4 or .gif.")
    target = AtomicFile(path)
    with target.writing() as tmp:
        (write_mp4 if suffix == ".mp4" else write_gif)(frames, tmp, fps)
    return target.commit()


def write_mp4(frames: np.ndarray, path: Path, fps: int) -> None:
    """H.264 (libx264), yuv420p: plays in browsers, phones and every desktop player."""
    import imageio_ffmpeg

    n, height, width, _ = frames.shape
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width, height),
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        macro_block_size=1,  # the size is ours (even): never rescaled behind our back
        quality=None,
        # the temporary name has no .mp4 suffix: name the container; faststart: the index
        # first, so a browser starts playing before the whole file has arrived
        output_params=["-f", "mp4", "-crf", "20", "-movflags", "+faststart"],
    )
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    except BaseException:
        # Ctrl-C reaches ffmpeg too (one process group): its complaint while closing must not
        # replace the KeyboardInterrupt (or the error) that stopped us.
        with contextlib.suppress(Exception):
            writer.close()
        raise
    writer.close()  # waits for ffmpeg to finish the file


def write_gif(frames: np.ndarray, path: Path, fps: int) -> None:
    """An animated GIF looping forever, each frame 1000 / fps ms (GIF counts in hundredths of
    a second: 25 fps is exact, 30 fps plays at 33.3 fps...); each frame gets its own
    256-colour palette (Pillow's adaptive quantization)."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=1000.0 / fps,
        loop=0,
        optimize=False,
        disposal=1,
    )


def save_animation(
    animation,
    paths: Sequence[Path],
    *,
    fps: int = 25,
    width: int = 640,
    height: int = 480,
    progress=None,
) -> list[Path]:
    """Render `animation` (losslab.plot.animation.Animation) once and write it to every path
    (.mp4 / .gif, checked first). progress(done, total) after each rendered frame. When one
    file fails, those already written by this call are removed too."""
    from losslab.plot.frames import render_frames

    paths = check_outputs(paths)
    check_video(animation.n_frames, fps, width, height)
    frames = render_frames(animation, width, height, progress=progress)
    done: list[Path] = []
    try:
        for path in paths:
            done.append(write_frames(frames, path, fps))
    except BaseException:
        for path in done:
            path.unlink(missing_ok=True)
        raise
    return done
