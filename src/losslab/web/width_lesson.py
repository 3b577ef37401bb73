"""The neural page's width lesson: `losslab.connectivity.width_sweep` run once on the page's own
network family, and what its numbers let the page say.

The family is the page's (losslab.web.networks): an MLP with DEPTH hidden ReLU layers of each
width in WIDTHS on "moons", trained with NETWORK_TRAINING; N_SEEDS seeds per width, each
network seen on N_PLANES random filter-normalized planes of +-RANDOM_SPAN units at
NETWORK_RESOLUTION points per axis (plane 0 is the page's own slice). One network is a noisy
witness (at width 4 one seed's non-convex share reads 18 %, another's 50 %), so the page shows
means over seeds with +-1 sd between them.

Measuring takes minutes, too long for a page: `scripts/width_lesson.py` runs `measure` once,
seeded, and writes DATA_FILE (the WidthSweep's JSON through the result codec, a few kB),
which `load` reads. A test recomputes one cell and matches the shipped number, and another
checks the file is the codec's writing of what `load` reads.

Everything but `measure` is a plain function of the WidthSweep: `describe` and `claim` turn
its numbers into the page's sentences (never a fixed sentence), `trend_start` finds where a
figure starts to fall at every doubling.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from importlib import resources

from torch import nn

from losslab.connectivity import WidthSweep, width_sweep
from losslab.data import load_dataset
from losslab.models import zoo
from losslab.web import networks

DATA_FILE = "width_lesson.json"
COMMAND = "python scripts/width_lesson.py"
N_SEEDS = 10
N_PLANES = 3
N_POINTS = 25  # points on each straight path between two networks
LOSS = "cross_entropy"
FIT_LOSS = 0.05  # a network "fits" the moons when its final training loss is below this
MATCHED_REL = 0.05  # "matching removes the barrier": less than this share of it is left


@dataclass(frozen=True)
class Figure:
    """How the chart shows one figure: its name in the menu, the y-axis title, the factor
    from the sweep's number to the axis (100: a share in %), the number format, and one line
    that says what it measures."""

    label: str
    axis: str
    scale: float
    fmt: str
    about: str
    dot: str = ""  # what the hover of the page's own network says (a plotly template)
    title: str = ""  # the chart's title (short: the side column is about 300 px wide)


# The chart's menu, in its order. "barrier" draws before and after matching side by side.
CHART = {
    "nonconvex_share": Figure(
        "non-convex share of the slice",
        "% of the slice",
        100.0,
        ".0f",
        "the part of a random slice through the trained weights that curves downward",
        "%{y:.0f}% of its slice curves downward",
        "Non-convex share by width",
    ),
    "roughness": Figure(
        "roughness of the slice",
        "roughness (0 = a quadratic)",
        1.0,
        ".2f",
        "how much of the slice no bowl or saddle explains: sqrt(1 - R\u00b2) of a quadratic fit",
        "its slice's roughness is %{y:.2f}",
        "Roughness by width",
    ),
    "top_eigenvalue": Figure(
        "sharpness (top Hessian eigenvalue)",
        "largest eigenvalue",
        1.0,
        ".2f",
        "how sharply the loss curves in its steepest direction at the trained weights",
        title="Top Hessian eigenvalue by width",
    ),
    "barrier": Figure(
        "barrier to another seed's network",
        "loss barrier",
        1.0,
        ".3f",
        "how far the loss rises above the straight line between two trained networks, "
        "before and after weight matching lines up their neurons",
        title="Barrier: before (light), after matching",
    ),
    "loss": Figure(
        "final training loss",
        "training loss",
        1.0,
        ".3f",
        "the loss the trained network reaches on the 375 training points",
        "its final loss is %{y:.3f}",
        "Final training loss by width",
    ),
}
DEFAULT_FIGURE = "nonconvex_share"


def make_model(width: int) -> nn.Module:
    """The page's network of `width` (networks.trained_network builds the same one: built
    under torch seeded with the seed, it has the seed's initial weights)."""
    data = _data()
    return zoo.mlp(data.n_features, data.n_classes, (width,) * networks.DEPTH)


def options() -> dict:
    """width_sweep's keyword options: the page's training and slices."""
    training = {k: v for k, v in networks.NETWORK_TRAINING.items() if k != "record_every"}
    return {
        **training,
        "span": networks.RANDOM_SPAN,
        "resolution": networks.NETWORK_RESOLUTION,
        "planes": N_PLANES,
        "n_points": N_POINTS,
    }


def measure(widths=networks.WIDTHS, seeds=range(N_SEEDS), progress=None) -> WidthSweep:
    """The sweep the page ships (all widths and seeds by default); deterministic."""
    sweep = width_sweep(
        make_model, list(widths), _data(), LOSS, seeds=list(seeds), progress=progress, **options()
    )
    head = {"made_by": COMMAND, "data": networks.NETWORK_DATA, "depth": networks.DEPTH}
    return replace(sweep, settings={**head, **sweep.settings}, seconds=round(sweep.seconds, 1))


@functools.lru_cache(maxsize=1)
def load() -> WidthSweep:
    """The shipped sweep (DATA_FILE in this package)."""
    return WidthSweep.from_dict(json.loads(_text()))


def shipped_rows() -> tuple[dict[str, float], ...]:
    """The shipped sweep's table: one row per width, mean and sd of every figure."""
    return load().rows()


def shipped_text() -> str:
    return _text()


# -- what the numbers say -----------------------------------------------------------------------


def trend_start(means) -> int:
    """The index of the narrowest width from which `means` (W,) falls at every step to the
    widest (W - 1 when even the last step does not fall)."""
    start = len(means) - 1
    while start > 0 and means[start - 1] > means[start]:
        start -= 1
    return start


def describe(sweep: WidthSweep, figure: str) -> str:
    """One sentence on how a figure's mean over seeds moves with width, from its numbers."""
    chart = CHART.get(figure, CHART["barrier"])
    means, sds = chart.scale * sweep.mean(figure), chart.scale * sweep.sd(figure)
    widths = sweep.widths.tolist()
    name = _NAMES[figure]
    unit = " %" if chart.scale == 100 else ""

    def value(i: int) -> str:
        return f"{means[i]:{chart.fmt}} \u00b1 {sds[i]:{chart.fmt}}{unit}"

    start = trend_start(means)
    if start == len(means) - 1:
        listed = ", ".join(f"{m:{chart.fmt}}" for m in means)
        return f"{_capital(name)} does not fall steadily with width ({listed}{unit})."
    text = (
        f"{_capital(name)} falls at every doubling from width {widths[start]} to "
        f"{widths[-1]}, {value(start)} \u2192 {value(len(means) - 1)}"
    )
    if start > 0:
        listed = ", ".join(f"{m:{chart.fmt}}" for m in means[: start + 1])
        text += (
            f"; from width {widths[0]} to {widths[start]} it does not fall steadily "
            f"({listed}{unit})"
        )
    return text + "."


def matching_effect(sweep: WidthSweep) -> str:
    """What weight matching does to the barrier, width by width, from the numbers."""
    before, after = sweep.mean("barrier_before"), sweep.mean("barrier_after")
    widths = sweep.widths.tolist()
    lower = [w for w, b, a in zip(widths, before, after, strict=True) if a < b]
    if len(lower) == len(widths):
        where = "at every width"
    elif not lower:
        where = "at no width"
    else:
        where = f"at {len(lower)} of {len(widths)} widths ({', '.join(map(str, lower))})"
    text = (
        f"Weight matching lowers the mean barrier {where}; at width {widths[-1]} it goes "
        f"{before[-1]:.3f} \u2192 {after[-1]:.3f}"
    )
    start = matched_from(sweep)
    if start is not None:
        text += (
            f", and from width {start} up less than {100 * MATCHED_REL:.0f} % of the barrier "
            "is left: there, once their neurons are matched, two networks are joined by a nearly "
            "flat straight line"
        )
    return text + "."


def matched_from(sweep: WidthSweep, rel: float | None = None) -> int | None:
    """The narrowest width from which, at every wider width too, the mean barrier after
    matching is below `rel` (default MATCHED_REL) of the mean barrier before; None if the
    widest is not."""
    rel = MATCHED_REL if rel is None else rel
    before, after = sweep.mean("barrier_before"), sweep.mean("barrier_after")
    below = after < rel * before
    if not below[-1]:
        return None
    start = len(below) - 1
    while start > 0 and below[start - 1]:
        start -= 1
    return int(sweep.widths[start])


def unfit(sweep: WidthSweep) -> str:
    """How many networks of each narrow width stop short of fitting the data, or ''."""
    losses = sweep.values("loss")  # (W, S)
    counts = (losses > FIT_LOSS).sum(axis=1)
    widths = sweep.widths.tolist()
    listed = [
        f"{n} of {losses.shape[1]} at width {w}" for w, n in zip(widths, counts, strict=True) if n
    ]
    if not listed:
        return ""
    return (
        f"Networks that stop short of fitting the moons (final loss above {FIT_LOSS:g}): "
        f"{'; '.join(listed)}."
    )


def claim_lines(sweep: WidthSweep) -> tuple[str, ...]:
    """What the measured numbers show, one sentence per figure, derived from them (never a
    fixed sentence): the page lists them under the chart."""
    lines = [
        describe(sweep, "nonconvex_share"),
        describe(sweep, "roughness"),
        describe(sweep, "top_eigenvalue"),
        describe(sweep, "barrier_before"),
        matching_effect(sweep),
        unfit(sweep),
    ]
    return tuple(line for line in lines if line)


def claim(sweep: WidthSweep) -> str:
    """`claim_lines` after the basis of the numbers, as one paragraph."""
    planes = sweep.settings.get("planes", 1)
    basis = f"Over {len(sweep.seeds)} seeds per width ({planes} random planes each):"
    return " ".join((basis, *claim_lines(sweep)))


_NAMES = {
    "nonconvex_share": "the non-convex share",
    "roughness": "the roughness",
    "top_eigenvalue": "the top Hessian eigenvalue",
    "barrier_before": "the loss barrier between two seeds' networks",
    "barrier_after": "the barrier after weight matching",
    "loss": "the final training loss",
}


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


@functools.lru_cache(maxsize=1)
def _data():
    return load_dataset(networks.NETWORK_DATA, seed=0)


def _text() -> str:
    return resources.files("losslab.web").joinpath(DATA_FILE).read_text(encoding="utf-8")


def means_table(sweep: WidthSweep) -> str:
    """The sweep as a plain-text table: widths x mean +- sd of every figure (the script's
    printout and the README's table)."""
    figures = sweep.figures
    head = ["width", *figures]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    means = {f: sweep.mean(f) for f in figures}
    sds = {f: sweep.sd(f) for f in figures}
    for i, width in enumerate(sweep.widths.tolist()):
        cells = [f"{means[f][i]:.4g} \u00b1 {sds[f][i]:.2g}" for f in figures]
        lines.append(" | ".join([str(width), *cells]))
    return "\n".join("| " + line + " |" for line in lines)
