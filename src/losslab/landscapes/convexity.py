"""How much of a 2-D landscape curves downward: the non-convex share of a slice.

A pure function of grid values, so a saved landscape answers it without the objective that
made it. Li et al. (2018) map the same ratio |lambda_min / lambda_max| to show where a slice
stops being convex.
"""

from __future__ import annotations

import numpy as np

from losslab.errors import LosslabError

NEGATIVE_REL = 0.02  # a curvature below -2% of the slice's largest |curvature| counts as downward
ROUNDOFF = 1e3 * np.finfo(np.float64).eps


def nonconvex_share(x, y, values, rel: float = NEGATIVE_REL) -> float:
    """Share of the interior grid points where the slice curves downward: the smaller
    eigenvalue of its finite-difference Hessian is below -rel times the largest |curvature|
    anywhere on the slice. 0 for a convex bowl or a plane, 1 for a concave cap or a saddle
    x^2 - y^2.

    x: (n0,), y: (n1,) evenly spaced; values: (n0, n1) in 'ij' order. A grid with fewer than
    3 points on an axis has no interior: 0.
    """
    v = np.asarray(values, dtype=np.float64)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if v.shape != (len(x), len(y)):
        raise LosslabError(
            f"values of shape {v.shape} do not fit the grid: expected ({len(x)}, {len(y)})."
        )
    if v.shape[0] < 3 or v.shape[1] < 3:
        return 0.0
    hx, hy = float(x[1] - x[0]), float(y[1] - y[0])
    # Central differences on the interior, each (n0 - 2, n1 - 2).
    fxx = (v[2:, 1:-1] - 2 * v[1:-1, 1:-1] + v[:-2, 1:-1]) / hx**2
    fyy = (v[1:-1, 2:] - 2 * v[1:-1, 1:-1] + v[1:-1, :-2]) / hy**2
    fxy = (v[2:, 2:] - v[2:, :-2] - v[:-2, 2:] + v[:-2, :-2]) / (4 * hx * hy)
    # Eigenvalues of [[fxx, fxy], [fxy, fyy]]: half trace +- sqrt(half trace^2 - det).
    half_trace = (fxx + fyy) / 2
    root = np.sqrt(np.maximum(half_trace**2 - (fxx * fyy - fxy**2), 0.0))
    low, high = half_trace - root, half_trace + root
    scale = float(np.max(np.maximum(np.abs(low), np.abs(high))))
    # Round-off in a second difference is about eps * |values| / h^2: a slice whose largest
    # curvature is of that size (a plane) is flat, not half concave.
    noise = ROUNDOFF * float(np.max(np.abs(v))) / min(abs(hx), abs(hy)) ** 2
    if not np.isfinite(scale) or scale <= noise:
        return 0.0
    return float(np.mean(low < -rel * scale))


def landscape_nonconvex_share(landscape, metric: str = "loss", rel: float = NEGATIVE_REL) -> float:
    """`nonconvex_share` of one metric of a 2-D `Landscape`."""
    if len(landscape.coords) != 2:
        raise LosslabError(
            f"the non-convex share needs a 2-D landscape; this one has {len(landscape.coords)} "
            "axis: compute it with two directions."
        )
    if metric not in landscape.values:
        raise LosslabError(
            f"metric {metric!r} is not in this landscape: use one of {sorted(landscape.values)}."
        )
    x, y = landscape.coords
    return nonconvex_share(x, y, landscape.values[metric], rel)
