"""Connectivity: are two trained networks joined by a path of low loss?

    path = linear_path(model_a, model_b, "cross_entropy", data)      # the straight line
    curve = bezier(model_a, model_b, "cross_entropy", data, epochs=20, lr=0.05, seed=0)
    path.barrier["loss"], curve.barrier["loss"]                       # how high each climbs

Modules (one purpose each):
    path.py     `Path`, the result (metrics along t, barrier, anchors), and the barrier formula
    linear.py   `linear_path`
    bezier.py   `bezier` (Garipov et al. 2018), its control point trained functionally
    _pair.py    the checks that two models can be joined; buffers along the path
    _evaluate.py  metrics at many points through ModelObjective, BatchNorm modes
"""

from losslab.connectivity.bezier import bezier
from losslab.connectivity.linear import linear_path
from losslab.connectivity.path import Path

__all__ = [
    "Path",
    "bezier",
    "linear_path",
]
