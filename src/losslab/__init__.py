"""losslab: a laboratory for loss landscapes.

The numeric core (objectives, optim, descent, curvature, grids, landscapes of networks) imports
torch, numpy, scikit-learn's bundled data and h5py, never plotting or web code: plotting lives in
`losslab.plot`, the command line in `losslab.cli`, the web lab in `losslab.web`.

`losslab.landscape` is the function; its package stays importable as a module path
(`from losslab.landscapes import Landscape`).
"""

from losslab import connectivity, curvature, data, directions, models, optim, symmetry
from losslab._version import __version__
from losslab.attraction import BasinMap, basins
from losslab.connectivity import WidthSweep, width_sweep
from losslab.contrast import Contrast, bowl_and_mountains
from losslab.curvature import CriticalPoint, critical_points, inspect
from losslab.descent import Race, Trajectory, descend, race
from losslab.diagnosis import Diagnosis, diagnose
from losslab.errors import ExpressionError, LosslabError
from losslab.landscapes import Landscape, landscape
from losslab.landscapes.grid import evaluate_grid
from losslab.objectives import ModelObjective, Objective, Surface, surface, surfaces
from losslab.results import load_result
from losslab.training import TrainingRun, train

__all__ = [
    "BasinMap",
    "Contrast",
    "CriticalPoint",
    "Diagnosis",
    "ExpressionError",
    "Landscape",
    "LosslabError",
    "ModelObjective",
    "Objective",
    "Race",
    "Surface",
    "TrainingRun",
    "Trajectory",
    "WidthSweep",
    "__version__",
    "basins",
    "bowl_and_mountains",
    "connectivity",
    "critical_points",
    "curvature",
    "data",
    "descend",
    "diagnose",
    "directions",
    "evaluate_grid",
    "inspect",
    "landscape",
    "load_result",
    "models",
    "optim",
    "race",
    "surface",
    "surfaces",
    "symmetry",
    "train",
    "width_sweep",
]
