"""losslab: a laboratory for loss landscapes.

The numeric core (objectives, optim, descent, curvature, grids) imports only torch and numpy;
plotting lives in `losslab.plot`, the command line in `losslab.cli`.
"""

from losslab import optim
from losslab._version import __version__
from losslab.attraction import BasinMap, basins
from losslab.curvature import CriticalPoint, critical_points, inspect
from losslab.descent import Trajectory, descend, race
from losslab.errors import ExpressionError, LosslabError
from losslab.grid import Grid, evaluate_grid
from losslab.objectives import Objective, Surface, surface, surfaces
from losslab.results import load_result

__all__ = [
    "BasinMap",
    "CriticalPoint",
    "ExpressionError",
    "Grid",
    "LosslabError",
    "Objective",
    "Surface",
    "Trajectory",
    "__version__",
    "basins",
    "critical_points",
    "descend",
    "evaluate_grid",
    "inspect",
    "load_result",
    "optim",
    "race",
    "surface",
    "surfaces",
]
