"""Curvature: Hessians, their spectra and what they say about the local shape.

Low-dimensional objectives (critical.py): the exact Hessian at a point, its eigenvalues and the
kind of critical point; every critical point in a window.

Any objective, networks included, through matrix-vector products (never a dense matrix):
    operator(objective, kind)    kinds.py      kind="hessian" | "ggn" | "fisher" as one operator
    CurvatureOperator            operators.py  what they share: @, to_scipy, streaming, params=
    HessianOperator, hvp         hvp.py        Hessian products, per parameter subset
    GGNOperator                  gauss_newton.py  the generalized Gauss-Newton J^T H_out J
    FisherOperator               fisher.py     the empirical Fisher sum_i c_i g_i g_i^T
    eigenvalues, extremes        eigen.py      Lanczos top/bottom-k, lambda_min / lambda_max
    trace                        trace.py      Hutchinson and Hutch++ with standard errors
    density -> Spectrum          density.py    stochastic Lanczos quadrature
    sharpness, epsilon_sharpness sharpness.py  lambda_max, trace, worst loss in an L2 ball
    curvature_map                maps.py       |lambda_min / lambda_max| over a 2-D grid
    hessian_directions           directions.py the sharpest directions, as a Directions
    HessianReport                report.py     those figures of one Hessian as one result

The spectral functions take kind= ("hessian" by default) and record it in their results.
"""

from losslab.curvature.critical import CriticalPoint, CriticalPoints, critical_points, inspect
from losslab.curvature.density import Spectrum, density
from losslab.curvature.directions import hessian_directions
from losslab.curvature.eigen import Eigenpairs, Extremes, eigenvalues, extremes
from losslab.curvature.fisher import FisherOperator
from losslab.curvature.gauss_newton import GGNOperator
from losslab.curvature.hvp import HessianOperator, hvp
from losslab.curvature.kinds import KINDS, operator
from losslab.curvature.maps import CurvatureMap, curvature_map
from losslab.curvature.operators import CurvatureOperator
from losslab.curvature.report import HessianReport
from losslab.curvature.sharpness import (
    EpsilonSharpness,
    Sharpness,
    epsilon_sharpness,
    sharpness,
)
from losslab.curvature.trace import TraceEstimate, trace

__all__ = [
    "KINDS",
    "CriticalPoint",
    "CriticalPoints",
    "CurvatureMap",
    "CurvatureOperator",
    "Eigenpairs",
    "EpsilonSharpness",
    "Extremes",
    "FisherOperator",
    "GGNOperator",
    "HessianOperator",
    "HessianReport",
    "Sharpness",
    "Spectrum",
    "TraceEstimate",
    "critical_points",
    "curvature_map",
    "density",
    "eigenvalues",
    "epsilon_sharpness",
    "extremes",
    "hessian_directions",
    "hvp",
    "inspect",
    "operator",
    "sharpness",
    "trace",
]
