"""Time of `losslab animate`'s animations: rendering the frames, then encoding MP4 and GIF, per
sub-command (surface, race, training, contrast), each at 100 frames of 640x480.

    .venv/bin/python benchmarks/animation.py [--frames 100] [--size 640x480]
        [--json benchmarks/results/animation.json]

"setup" is the work before the first frame (the library's numbers and the figure drawn once);
"render" draws every frame (the figure is updated, never rebuilt); "mp4" and "gif" encode
those same frames (ffmpeg from the imageio-ffmpeg wheel; Pillow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import losslab as ll
from losslab.landscapes.grid import evaluate_grid
from losslab.plot import animation, video
from losslab.plot.frames import FrameRenderer


def surface_case(n_frames: int):
    return animation.surface_animation(
        evaluate_grid(ll.surface("rosenbrock"), resolution=80), n_frames
    )


def race_case(n_frames: int):
    surface = ll.surface("himmelblau")
    optimizers = [ll.optim.from_spec(s, lr=0.01) for s in ("gd", "momentum", "adam")]
    raced = ll.race(surface, optimizers, (0.0, 0.0), 500)
    land = evaluate_grid(surface, resolution=120)
    from losslab.plot.pictures import known_minima

    coarse = evaluate_grid(surface, resolution=60)
    minima = known_minima(surface, land)
    return animation.race_animation(land, raced, n_frames, minima=minima, surface=coarse)


def training_case(n_frames: int):
    """As `losslab animate training --model mlp --width 32 --dataset digits --epochs 5`."""
    from losslab import directions, models
    from losslab.cli.network import path_span
    from losslab.data import load_dataset
    from losslab.objectives.model import ModelObjective
    from losslab.training import train

    data = load_dataset("digits")
    net = models.build("mlp", data, width=32, seed=0)
    run = train(net, data, optimizer="sgd", lr=0.1, epochs=5, batch_size=64, record_every=1)
    objective = ModelObjective(net, "cross_entropy", data.train)
    chosen = directions.pca(run, n=2)
    plane = ll.landscape(objective, chosen, span=path_span(run, chosen), resolution=41)
    return animation.training_animation(plane, run, n_frames, log=True, title="mlp on digits")


def contrast_case(n_frames: int):
    from losslab.contrast import bowl_and_mountains

    return animation.contrast_animation(bowl_and_mountains(41, seed=0), n_frames)


CASES = {
    "surface": surface_case,
    "race": race_case,
    "training": training_case,
    "contrast": contrast_case,
}


def measure(name: str, n_frames: int, width: int, height: int, folder: Path) -> dict:
    begin = time.perf_counter()
    anim = CASES[name](n_frames)
    computed = time.perf_counter()
    renderer = FrameRenderer(anim, width, height)
    drawn = time.perf_counter()
    import numpy as np

    frames = np.stack([renderer.frame(i) for i in range(n_frames)])
    rendered = time.perf_counter()
    row = {
        "case": name,
        "compute_s": computed - begin,
        "setup_s": drawn - computed,
        "render_s": rendered - drawn,
        "per_frame_ms": 1000 * (rendered - drawn) / n_frames,
    }
    for suffix in (".mp4", ".gif"):
        path = folder / f"{name}{suffix}"
        start = time.perf_counter()
        video.write_frames(frames, path, 25)
        row[f"{suffix[1:]}_s"] = time.perf_counter() - start
        row[f"{suffix[1:]}_kb"] = path.stat().st_size / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    width, height = video.parse_size(args.size)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases.split(","):
            try:
                rows.append(measure(name, args.frames, width, height, Path(folder)))
            except ImportError as missing:  # contrast before its surfaces are merged
                print(f"{name}: skipped ({missing})")
    print(f"{args.frames} frames at {width}x{height}, {platform.processor() or platform.machine()}")
    print(
        f"{'case':<10}{'compute s':>10}{'setup s':>9}{'render s':>10}{'ms/frame':>10}"
        f"{'mp4 s':>8}{'mp4 KiB':>9}{'gif s':>8}{'gif KiB':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<10}{r['compute_s']:>10.2f}{r['setup_s']:>9.2f}{r['render_s']:>10.2f}"
            f"{r['per_frame_ms']:>10.0f}{r['mp4_s']:>8.2f}{r['mp4_kb']:>9.0f}"
            f"{r['gif_s']:>8.2f}{r['gif_kb']:>9.0f}"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"frames": args.frames, "size": [width, height], "cpus": os.cpu_count()}
        args.json.write_text(json.dumps({**payload, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
