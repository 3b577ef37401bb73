"""LEGACY names for `losslab.web` until it draws through `losslab.plot.scene` (the web engineer
ports web/figures.py and web/neural_figures.py, then this module goes). Nothing in plot/ uses
it: new code imports `losslab.plot.style`, `losslab.plot.scene` and `losslab.plot._runs`.

`Colouring` / `Landscape2D` / `landscape_2d` are the old grid forms kept only for the web
figures; the one grid result is `losslab.Landscape` and the one colour transform is
`losslab.plot.scene.ColourScale`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from losslab.grid import evaluate_grid
from losslab.objectives.base import Objective
from losslab.plot import style
from losslab.plot._runs import (  # noqa: F401
    Run,
    derivative_at,
    eigen_arrows,
    gradient_field,
    minima_array,
    runs,
    status_text,
)
from losslab.plot.backend_plotly import segments
from losslab.plot.scene import ColourScale, number, point_text  # noqa: F401
from losslab.plot.style import (  # noqa: F401
    ATTRACTING_COLOUR,
    DIVERGED_COLOUR,
    GRADIENT_LABEL,
    MINIMUM_LABEL,
    N_LEVELS,
    OPTIMIZER_COLOURS,
    REPELLING_COLOUR,
    TEMPLATE,
    basin_colour,
    hex_to_rgb,
)
from losslab.plot.style import step_marker_size as marker_size  # noqa: F401

# kind -> (matplotlib marker, plotly symbol, legend text), read from the style table
CRITICAL_MARKERS = {
    kind: (
        style.SYMBOLS[style.MARKERS[f"critical-{kind}"].symbol][0],
        style.SYMBOLS[style.MARKERS[f"critical-{kind}"].symbol][1],
        style.CRITICAL_TEXT[kind],
    )
    for kind in style.CRITICAL_KINDS
}


def basin_colours(n_minima: int) -> list[str]:
    """Colours for labels -2, -1, 0, ..., n_minima - 1, in that order."""
    return [style.basin_colour(label) for label in range(-2, n_minima)]


@dataclass(frozen=True)
class Colouring:
    """A ColourScale with the grid it was made for: raw (NaN where not finite) and z (the
    transform of raw), as the web figures read them."""

    raw: np.ndarray
    z: np.ndarray
    lo: float
    hi: float
    log: bool
    shift: float
    eps: float
    label: str

    def transform(self, values) -> np.ndarray:
        return self.scale.transform(values)

    @property
    def scale(self) -> ColourScale:
        return ColourScale(self.log, self.shift, self.eps, self.lo, self.hi, self.label)


def colouring(values, log: bool) -> Colouring:
    raw = np.asarray(values, dtype=np.float64).copy()
    raw[~np.isfinite(raw)] = np.nan
    scale = ColourScale.of(raw, log)
    return Colouring(
        raw,
        scale.transform(raw, clamp=False),
        scale.lo,
        scale.hi,
        scale.log,
        scale.shift,
        scale.eps,
        scale.label,
    )


@dataclass(frozen=True)
class Landscape2D:
    """x (n0,), y (n1,), a Colouring in 'xy' order (n1, n0), the window box (2, 2)."""

    x: np.ndarray
    y: np.ndarray
    colouring: Colouring
    box: np.ndarray


def landscape_2d(objective: Objective, bounds, resolution: int, log, what: str = "contour"):
    """The objective's Landscape (through `evaluate_grid`) in the old web form."""
    land = evaluate_grid(objective, resolution=resolution, bounds=bounds)
    x, y = land.coords
    log = objective.log_scale if log is None else bool(log)
    box = np.array([[x[0], x[-1]], [y[0], y[-1]]])
    return Landscape2D(x, y, colouring(land.values["loss"].T, log), box)


def curve_1d_grid(objective: Objective, bounds, resolution: int):
    """The 1-D objective's Landscape (through `evaluate_grid`): x (n,), f (n,) NaN where not
    finite, and its ylim, in the old web form."""
    from losslab.plot.build import _ylim

    land = evaluate_grid(objective, resolution=resolution, bounds=bounds)
    f = land.values["loss"].copy()
    f[~np.isfinite(f)] = np.nan

    @dataclass(frozen=True)
    class Curve1D:
        x: np.ndarray
        f: np.ndarray
        box: np.ndarray

        def ylim(self, pad: float = 0.08, top: float | None = None):
            return _ylim(self.f, pad, top)

    (x,) = land.coords
    return Curve1D(x, f, np.array([[x[0], x[-1]]]))


def arrow_segments(field) -> tuple[list, list]:
    """A GradientField as plotly line segments (centred arrows with heads)."""
    from losslab.plot.build import gradient_arrows

    arrows = gradient_arrows(field)
    return segments(arrows.tails, arrows.tips, True)
