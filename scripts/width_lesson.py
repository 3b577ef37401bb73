"""Measure the neural page's width lesson and write the data file the page reads.

    python scripts/width_lesson.py            # about a minute on 2 cores

Trains one network per width x seed (as the page does: losslab.web.networks), measures
N_PLANES random filter-normalized slices of each (losslab.web.width_lesson.measure), and writes
src/losslab/web/width_lesson.json with its settings. Every step is seeded: a rerun on the same
machine writes the same numbers. Prints the summary table and the sentence the page will show.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import torch

from losslab.web import networks, width_lesson

OUT = pathlib.Path(__file__).resolve().parents[1] / "src/losslab/web" / width_lesson.DATA_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `losslab serve` trains, so the numbers are the page's
    started = time.perf_counter()
    samples = [
        width_lesson.measure(width, seed, plane)
        for width in networks.WIDTHS
        for seed in range(width_lesson.N_SEEDS)
        for plane in range(width_lesson.N_PLANES)
    ]
    args.out.write_text(width_lesson.to_json(samples, width_lesson.settings()))
    rows = width_lesson.summarise(samples)
    print(f"{'width':>6} {'share %':>9} {'sd':>5} {'rise':>7} {'sd':>7} {'fit':>6}")
    for r in rows:
        print(
            f"{r.width:6d} {100 * r.share_mean:9.1f} {100 * r.share_sd:5.1f} "
            f"{r.rise_mean:7.3f} {r.rise_sd:7.3f} {r.n_fit:3d}/{r.n_seeds}"
        )
    print(width_lesson.claim(rows))
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
