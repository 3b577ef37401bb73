"""The non-convex share of a 2-D landscape, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import losslab as ll
from losslab.errors import LosslabError
from losslab.landscapes.convexity import landscape_nonconvex_share, nonconvex_share

X_AXIS = np.linspace(-1, 1, 21)
Y_AXIS = np.linspace(-2, 2, 31)
X, Y = np.meshgrid(X_AXIS, Y_AXIS, indexing="ij")


@pytest.mark.parametrize(
    ("values", "share"),
    [
        (X**2 + 2 * Y**2, 0.0),  # convex quadratic: curves up everywhere
        (-(X**2) - 0.5 * Y**2, 1.0),  # concave quadratic: down everywhere
        (X**2 - Y**2, 1.0),  # saddle: down along y everywhere
        (1 + 2 * X + 3 * Y, 0.0),  # a plane has no curvature at all
        ((X + Y) ** 2, 0.0),  # convex, not strictly: one zero eigenvalue
    ],
)
def test_share_of_quadratics_is_their_closed_form(values, share):
    assert nonconvex_share(X_AXIS, Y_AXIS, values) == share


def test_share_counts_the_interior_points_that_curve_down():
    # Quartic x^4 - 6 x^2 curves down where 12 x^2 - 12 < 0, i.e. |x| < 1 (on the interior
    # x in (-1.4, 1.4)); a plain loop over the interior points is the oracle.
    x = np.linspace(-1.5, 1.5, 31)
    y = np.linspace(-1, 1, 11)
    values = (x**4 - 6 * x**2)[:, None] + y[None, :] ** 2
    interior = x[1:-1]
    expected = np.mean([12 * xi**2 - 12 < -0.02 * 30 for xi in interior])
    assert nonconvex_share(x, y, values) == pytest.approx(expected)


def test_share_of_a_landscape_reads_its_metric():
    bowl = ll.Landscape(
        (X_AXIS, Y_AXIS), {"loss": X**2 + Y**2, "other": -(X**2)}, [0.0], [[1.0]] * 2
    )
    assert landscape_nonconvex_share(bowl) == 0.0
    assert landscape_nonconvex_share(bowl, "other") == 1.0
    with pytest.raises(LosslabError, match="metric 'accuracy'"):
        landscape_nonconvex_share(bowl, "accuracy")


def test_share_refuses_values_that_do_not_fit_the_grid():
    with pytest.raises(LosslabError, match=r"expected \(21, 31\)"):
        nonconvex_share(X_AXIS, Y_AXIS, (X**2).T)
    assert nonconvex_share(X_AXIS[:2], Y_AXIS, (X**2)[:2]) == 0.0  # no interior
