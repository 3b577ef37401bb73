"""Measure the neural page's width lesson and write the data file the page reads.

    python scripts/width_lesson.py            # a few minutes on 2 cores

Runs `losslab.connectivity.width_sweep` on the page's network family (losslab.web.width_lesson:
every width of the page x N_SEEDS seeds, N_PLANES random slices each, the page's training) and
writes src/losslab/web/width_lesson.json, a WidthSweep result file (the codec's JSON) with its
settings. Every step is seeded: a rerun on the same machine writes the same numbers. Prints
the table (widths x mean +- sd of every figure) and the sentences the page will show.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import torch

from losslab.web import width_lesson

OUT = pathlib.Path(__file__).resolve().parents[1] / "src/losslab/web" / width_lesson.DATA_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `losslab serve` trains, so the numbers are the page's
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} networks measured ({time.perf_counter() - started:.0f} s)", end="")

    sweep = width_lesson.measure(progress=progress)
    print()
    sweep.save(args.out)
    print(width_lesson.means_table(sweep))
    print(width_lesson.claim(sweep))
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
