"""The neural page's width lesson: what the width of a network does to the shape of its random
slice, measured over several seeds and planes, and what those numbers let the page say.

One network's slice is a noisy witness: on one seed the non-convex share by width 2..256 reads
34, 10, 29, 44, 21, 39, 7, 0 %, on another 49, 49, 29, 41, 31, 9, 6, 0 %. So every width is
measured on N_SEEDS trainings x N_PLANES random planes (`measure`, one cell), and the page shows
the mean over seeds with the spread between them (`summarise`). Measuring every cell takes
about a minute, too long for a page: `scripts/width_lesson.py` runs it once, seeded, and writes
DATA_FILE (JSON, about 20 kB), which `load` reads. Its settings are in the file, and a test
recomputes one cell and matches the shipped number.

Two figures per slice, both on a grid of +-RANDOM_SPAN filter-normalized units around the
trained weights:
- the non-convex share (`losslab.landscapes.convexity`): the part of the slice that curves
  downward in some direction;
- the rise: how far the loss climbs above the trained weights on average over the slice
  (a flatness figure in loss units: small for a wide, flat basin).

Everything but `measure` is a plain function of plain data (tuples of numbers), so another
sweep (issue 14's connectivity sweep) can summarise its own samples the same way.
"""

from __future__ import annotations

import functools
import json
from dataclasses import astuple, dataclass
from importlib import resources

import numpy as np

from losslab.landscapes.convexity import NEGATIVE_REL, landscape_nonconvex_share
from losslab.web import networks

DATA_FILE = "width_lesson.json"
COMMAND = "python scripts/width_lesson.py"
N_SEEDS = 10
N_PLANES = 3
FIT_LOSS = 0.05  # a network "fits" the moons when its final training loss is below this
SAMPLE_FIELDS = ("width", "seed", "plane", "nonconvex_share", "rise", "final_loss")


@dataclass(frozen=True)
class Sample:
    """One cell: a network of `width` trained with `seed`, seen on random plane `plane`."""

    width: int
    seed: int
    plane: int
    nonconvex_share: float  # in [0, 1]
    rise: float  # mean loss on the slice minus the loss at its centre
    final_loss: float  # the training loss at the end of the run


@dataclass(frozen=True)
class WidthRow:
    """What the chart shows for one width: means over seeds (each seed first averaged over its
    planes) and the standard deviation between seeds (ddof 1: the spread of networks)."""

    width: int
    n_seeds: int
    share_mean: float
    share_sd: float
    rise_mean: float
    rise_sd: float
    n_fit: int  # seeds whose network fits the data (final loss < FIT_LOSS)


def slice_rise(values) -> float:
    """Mean of a slice's values minus the value at its centre (the origin of a symmetric grid).
    values: (n0, n1) with odd n0, n1. 0 on a plane through the centre, > 0 around a minimum."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean() - v[v.shape[0] // 2, v.shape[1] // 2])


def measure(width: int, seed: int, plane: int) -> Sample:
    """One cell, as the page trains and slices (losslab.web.networks), deterministic."""
    grid = networks.random_slice(width, seed, plane)
    run, _ = networks.trained_network(width, seed)
    return Sample(
        width,
        seed,
        plane,
        landscape_nonconvex_share(grid),
        slice_rise(grid.values["loss"]),
        float(run.train_loss[-1]),
    )


def settings() -> dict:
    """What a shipped file must have been measured with to be the page's numbers."""
    return {
        "data": networks.NETWORK_DATA,
        "depth": networks.DEPTH,
        "training": dict(networks.NETWORK_TRAINING),
        "span": networks.RANDOM_SPAN,
        "resolution": networks.NETWORK_RESOLUTION,
        "normalization": "filter",
        "plane_seed": f"seed + {networks.PLANE_SEED_STRIDE} * plane",
        "negative_rel": NEGATIVE_REL,
        "fit_loss": FIT_LOSS,
    }


def summarise(samples) -> tuple[WidthRow, ...]:
    """Samples (any order) -> one row per width, widths ascending."""
    by_width: dict[int, dict[int, list[Sample]]] = {}
    for s in samples:
        by_width.setdefault(s.width, {}).setdefault(s.seed, []).append(s)
    rows = []
    for width in sorted(by_width):
        seeds = by_width[width].values()
        share = np.array([np.mean([s.nonconvex_share for s in planes]) for planes in seeds])
        rise = np.array([np.mean([s.rise for s in planes]) for planes in seeds])
        fits = sum(planes[0].final_loss < FIT_LOSS for planes in seeds)
        rows.append(
            WidthRow(
                width,
                len(share),
                float(share.mean()),
                _sd(share),
                float(rise.mean()),
                _sd(rise),
                int(fits),
            )
        )
    return tuple(rows)


def trend_start(rows) -> int:
    """The narrowest width from which the mean non-convex share falls at every step to the
    widest (the last width if even the last step does not fall)."""
    start = len(rows) - 1
    while start > 0 and rows[start - 1].share_mean > rows[start].share_mean:
        start -= 1
    return rows[start].width


def falls(values) -> bool:
    """Whether a sequence falls at every step."""
    return all(values[i] > values[i + 1] for i in range(len(values) - 1))


def claim(rows) -> str:
    """What the measured numbers show, in words, derived from them (never a fixed sentence)."""
    start = trend_start(rows)
    falling = [r for r in rows if r.width >= start]
    before = [r for r in rows if r.width < start]
    first, last = falling[0], falling[-1]
    basis = f"Over {first.n_seeds} seeds \u00d7 {N_PLANES} random planes per width"
    if len(falling) == 1:
        shares = ", ".join(f"{100 * r.share_mean:.0f}" for r in rows)
        return f"{basis}, the non-convex share does not fall steadily with width ({shares} %)."
    text = (
        f"{basis}, from width {first.width} to {last.width} the non-convex share falls at "
        f"every doubling, {_pct(first)} \u2192 {_pct(last)}"
    )
    if falls([r.rise_mean for r in falling]):
        text += (
            f", and the slice gets flatter (the loss rises {first.rise_mean:.2f} \u2192 "
            f"{last.rise_mean:.2f} on average across it): there, wider is smoother and more "
            "convex."
        )
    else:
        text += ": there, wider is more convex, though not flatter at every step."
    if before:
        shares = ", ".join(f"{100 * r.share_mean:.0f}" for r in before)
        text += f" {_widths(before)} no trend ({shares} %)"
        unfit = [r.n_seeds - r.n_fit for r in before]
        if any(unfit):
            text += (
                f": {_and(unfit)} of their {first.n_seeds} networks stop short of fitting the "
                f"data (final loss above {FIT_LOSS:g})"
            )
        text += ", and one seed's slice can read far from the mean."
    return text


@functools.lru_cache(maxsize=1)
def load() -> tuple[Sample, ...]:
    """The shipped samples (DATA_FILE in this package)."""
    text = resources.files("losslab.web").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    return tuple(Sample(*row) for row in data["samples"])


@functools.lru_cache(maxsize=1)
def shipped_rows() -> tuple[WidthRow, ...]:
    """The page's chart: the shipped samples summarised."""
    return summarise(load())


def shipped_settings() -> dict:
    text = resources.files("losslab.web").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)["settings"]


def to_json(samples, settings_used: dict) -> str:
    """The data file: the command that made it first, its settings, one line per sample."""
    head = {
        "made_by": f"{COMMAND}  (seeded: reruns give these numbers on the same machine)",
        "about": "The neural page's width chart: non-convex share and mean loss rise of "
        "random filter-normalized slices, per width x training seed x plane.",
        "settings": settings_used,
        "fields": list(SAMPLE_FIELDS),
    }
    lines = ",\n".join("  " + json.dumps(_rounded(astuple(s))) for s in samples)
    return json.dumps(head, indent=1)[:-2] + ',\n "samples": [\n' + lines + "\n ]\n}\n"


def _rounded(row: tuple) -> list:
    return [round(v, 6) if isinstance(v, float) else v for v in row]


def _pct(row: WidthRow) -> str:
    return f"{100 * row.share_mean:.0f} \u00b1 {100 * row.share_sd:.0f} %"


def _and(numbers) -> str:
    """[10, 4, 2] -> '10, 4 and 2'."""
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _widths(rows) -> str:
    """'Widths 2\u20138 show' for several widths, 'Width 2 shows' for one."""
    if len(rows) == 1:
        return f"Width {rows[0].width} shows"
    return f"Widths {rows[0].width}\u2013{rows[-1].width} show"


def _sd(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0
