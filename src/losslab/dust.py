"""Float dust: numbers that are zero within the accuracy of the computation that made them,
set to exactly 0 before they are printed, so text never shows "(2.84e-16, 2.5)" or a
determinant of -1.008e-58.

What counts as zero depends on the scale of the quantity shown, never on the value alone
(a tolerance relative to the scale, floored at 1 so that values near 0 have a scale too):

    a lone number, scale unknown   |v| <= ATOL = 1e-12
    a point's coordinate           |x_i| <= POINT_RTOL * max(1, max_j |x_j|)      (1e-9)
    a matrix entry                 the same rule over all its entries
    an eigenvalue or a trace       |v| <= EIG_RTOL * max(1, max |lambda|)          (1e-8)
    a determinant (n x n)          |det| <= EIG_RTOL * max(1, max |lambda|) ** n

EIG_RTOL is `losslab.inspect`'s default eig_tol, so an eigenvalue printed as 0 is one that
inspect counts as zero (a "degenerate" or "singular" point), and a determinant prints 0
exactly when a factor of it does. POINT_RTOL sits far above float64's 2.2e-16 (what Newton's
method and typed clicks leave behind) and below what a run's tol of 1e-8 leaves as a real
distance to a minimum (the residual 5e-9 of gd on a bowl is shown).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

ATOL = 1e-12
POINT_RTOL = 1e-9
EIG_RTOL = 1e-8


def scalar(value: float, scale: float = 1.0, rtol: float = ATOL) -> float:
    """`value` as a float, 0.0 when |value| <= rtol * max(1, |scale|); never -0.0."""
    value = float(value)
    if math.isfinite(value) and abs(value) <= rtol * max(1.0, abs(float(scale))):
        return 0.0
    return value + 0.0


def point(values: Iterable[float], rtol: float = POINT_RTOL) -> list[float]:
    """A point's coordinates (or a matrix's entries, flattened) with those below rtol of
    the point's scale max(1, max |x|) set to 0."""
    values = [float(v) for v in values]
    finite = [abs(v) for v in values if math.isfinite(v)]
    scale = max(finite, default=1.0)
    return [scalar(v, scale, rtol) for v in values]


def spectrum(eigenvalues: Iterable[float], rtol: float = EIG_RTOL) -> list[float]:
    """Eigenvalues with those zero by inspect's rule (rtol of max(1, max |lambda|)) set to 0."""
    return point(eigenvalues, rtol)


def trace(value: float, eigenvalues: Iterable[float], rtol: float = EIG_RTOL) -> float:
    """A trace: zero within rtol of the largest |eigenvalue| (floored at 1)."""
    return scalar(value, _top(eigenvalues), rtol)


def determinant(value: float, eigenvalues: Iterable[float], rtol: float = EIG_RTOL) -> float:
    """An n x n determinant: zero within rtol * max(1, max |lambda|) ** n, the size a
    determinant with one factor at the zero threshold would have."""
    eigenvalues = [float(v) for v in eigenvalues]
    scale = max(1.0, _top(eigenvalues)) ** max(1, len(eigenvalues))
    return scalar(value, scale, rtol)


def _top(eigenvalues: Iterable[float]) -> float:
    return max((abs(float(v)) for v in eigenvalues if math.isfinite(float(v))), default=1.0)
