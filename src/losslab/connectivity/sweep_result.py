"""`WidthSweep`: what `width_sweep` measured, per width and training seed, as one result file.

Every figure is a (W, S) array: row w is the width widths[w], column s the network trained
with seeds[s]. The summaries (`mean`, `sd`, `rows`) are computed from those samples on
demand, so a file holds the measurements and nothing derived from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from losslab.errors import LosslabError
from losslab.results import Result
from losslab.results.kinds import FloatArray, IntArray

# What each figure is (the order tables show them in); accuracy figures only for a
# classification loss.
FIGURES = {
    "loss": "final training loss (full data, eval mode)",
    "accuracy": "final training accuracy (full data, eval mode)",
    "barrier_before": "loss barrier on the straight line to the paired seed's network",
    "barrier_after": "the same after weight matching the paired network onto this one",
    "barrier_accuracy_before": "accuracy drop on the straight line to the paired network",
    "barrier_accuracy_after": "the same after weight matching",
    "top_eigenvalue": "largest Hessian eigenvalue at the trained weights",
    "nonconvex_share": "share of a random filter-normalized slice that curves downward",
    "roughness": "part of that slice a quadratic surface does not explain (0..1)",
}
REQUIRED = ("loss", "barrier_before", "barrier_after", "top_eigenvalue", "nonconvex_share")
REQUIRED += ("roughness",)
ACCURACY_FIGURES = ("accuracy", "barrier_accuracy_before", "barrier_accuracy_after")


@dataclass(frozen=True)
class WidthSweep(Result):
    """Figures of networks of several widths, each trained with several seeds.

    widths: (W,) int64, ascending, distinct, > 0
    seeds: (S,) int64, distinct, S >= 2
    samples: figure -> (W, S) float64 (FIGURES names them; the accuracy ones only for a
        classification loss)
    settings: what was measured and how (training, slice, pairing, definitions), plain JSON
    seconds: the time the sweep took
    """

    result_type = "width_sweep"
    json_fields = ("settings",)

    widths: IntArray
    seeds: IntArray
    samples: dict[str, FloatArray]
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        # What tables, charts and the page rely on; a file that breaks it is refused.
        widths, seeds = self.widths, self.seeds
        if widths.ndim != 1 or len(widths) == 0:
            raise LosslabError("widths must be a non-empty 1-D array.")
        if int(widths.min()) < 1 or bool((widths[1:] <= widths[:-1]).any()):
            raise LosslabError(
                f"widths {widths.tolist()} must be positive, distinct and ascending."
            )
        if seeds.ndim != 1 or len(seeds) < 2 or len(set(seeds.tolist())) != len(seeds):
            raise LosslabError(f"seeds {seeds.tolist()} must be at least 2 distinct seeds.")
        missing = [f for f in REQUIRED if f not in self.samples]
        unknown = sorted(set(self.samples) - set(FIGURES))
        if missing or unknown:
            raise LosslabError(
                f"samples lack {missing} or hold unknown figures {unknown}: the figures are "
                f"{', '.join(FIGURES)}."
            )
        shape = (len(widths), len(seeds))
        for name, values in self.samples.items():
            if tuple(values.shape) != shape:
                raise LosslabError(
                    f"samples[{name!r}] has shape {tuple(values.shape)}, must be (widths, "
                    f"seeds) = {shape}."
                )
        if not isinstance(self.settings, dict):
            raise LosslabError("settings must be a dict of plain JSON data.")
        if not math.isfinite(self.seconds) or self.seconds < 0:
            raise LosslabError(f"seconds == {self.seconds!r}, must be a time >= 0.")

    @property
    def figures(self) -> tuple[str, ...]:
        """The figures this sweep holds, in FIGURES order."""
        return tuple(f for f in FIGURES if f in self.samples)

    def values(self, figure: str) -> np.ndarray:
        """(W, S) float64 samples of one figure."""
        if figure not in self.samples:
            raise LosslabError(
                f"figure {figure!r} is not in this sweep: choose one of {', '.join(self.figures)}."
            )
        return self.samples[figure].double().numpy()

    def mean(self, figure: str) -> np.ndarray:
        """(W,) the mean over seeds at each width."""
        return self.values(figure).mean(axis=1)

    def sd(self, figure: str) -> np.ndarray:
        """(W,) the standard deviation between seeds at each width (ddof 1)."""
        return self.values(figure).std(axis=1, ddof=1)

    def rows(self) -> tuple[dict[str, float], ...]:
        """One row per width: {"width": w, figure: mean, figure + "_sd": sd, ...}."""
        means = {f: self.mean(f) for f in self.figures}
        sds = {f: self.sd(f) for f in self.figures}
        table = []
        for i, width in enumerate(self.widths.tolist()):
            row: dict[str, float] = {"width": width}
            for f in self.figures:
                row[f] = float(means[f][i])
                row[f + "_sd"] = float(sds[f][i])
            table.append(row)
        return tuple(table)

    def at(self, width: int, seed: int) -> dict[str, float]:
        """Every figure of the network of `width` trained with `seed`."""
        w = _index(self.widths, width, "width")
        s = _index(self.seeds, seed, "seed")
        return {f: float(self.samples[f][w, s]) for f in self.figures}


def _index(values: torch.Tensor, value: int, what: str) -> int:
    found = (values == value).nonzero()
    if len(found) != 1:
        raise LosslabError(
            f"{what} {value!r} is not in this sweep: its {what}s are {values.tolist()}."
        )
    return int(found[0, 0])
