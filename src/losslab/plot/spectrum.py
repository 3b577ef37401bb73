"""The Hessian's eigenvalue density as the familiar log-density curve (Ghorbani et al. 2019):
log-scaled density against eigenvalue, with the quadrature nodes as ticks along the bottom.

    ax = spectrum(losslab.curvature.density(objective))
    save_figure(ax.figure, "spectrum.png")

Takes `ax=None` (a new Figure and Axes) and returns the Axes; pyplot is never imported.
Artists carry gids "losslab-spectrum" (the curve) and "losslab-nodes" (the node ticks).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.errors import LosslabError

SPECTRUM_SIZE = (7.0, 4.6)
FLOOR = 1e-12  # densities below this (far tails) are drawn at the floor of the log axis


def spectrum(
    result,
    *,
    log: bool = True,
    nodes: bool = True,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw a `Spectrum` (losslab.curvature.density): density against eigenvalue.

    log: logarithmic density axis (the usual view: the bulk near 0 and the outliers show at
    once). nodes: mark the Ritz nodes that carry weight as ticks at the bottom.
    """
    grid = np.asarray(getattr(result, "grid", None), dtype=np.float64)
    density = np.asarray(getattr(result, "density", None), dtype=np.float64)
    if grid.ndim != 1 or density.shape != grid.shape or grid.size < 2:
        raise LosslabError("spectrum() draws a Spectrum from losslab.curvature.density.")
    finite = np.isfinite(density)
    if not finite.any():
        raise LosslabError("the spectrum's density is not finite anywhere: nothing to draw.")
    if ax is None:
        ax = Figure(figsize=SPECTRUM_SIZE, layout="constrained").add_subplot()
    shown = np.where(finite, np.maximum(density, FLOOR) if log else density, np.nan)
    ax.plot(grid, shown, color="tab:blue", linewidth=1.4, gid="losslab-spectrum")
    if log:
        ax.set_yscale("log")
        top = float(np.nanmax(shown))
        ax.set_ylim(max(FLOOR, top * 1e-9), top * 3)
    if nodes:
        weights = np.asarray(result.weights, dtype=np.float64).reshape(-1)
        points = np.asarray(result.nodes, dtype=np.float64).reshape(-1)[weights > 0]
        ax.plot(
            points,
            np.zeros_like(points),
            linestyle="none",
            marker="|",
            markersize=10,
            color="tab:red",
            transform=ax.get_xaxis_transform(),
            gid="losslab-nodes",
            label="Lanczos nodes",
        )
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density (log)" if log else "density")
    n = getattr(result, "n_params", None)
    probes = np.asarray(result.nodes).shape[0]
    subtitle = (
        f"{n} parameters, {probes} probe{'s' if probes != 1 else ''}, sigma {result.sigma:.3g}"
    )
    ax.set_title(title or f"Hessian eigenvalue density ({subtitle})", fontsize=10)
    ax.grid(alpha=0.3)
    return ax
