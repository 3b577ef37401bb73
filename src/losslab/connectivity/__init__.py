"""Connectivity: are two trained networks joined by a path of low loss?

    path = linear_path(model_a, model_b, "cross_entropy", data)      # the straight line
    curve = bezier(model_a, model_b, "cross_entropy", data, epochs=20, lr=0.05, seed=0)
    path.barrier["loss"], curve.barrier["loss"]                       # how high each climbs
    sweep = width_sweep(make_model, [8, 32, 128], data, "cross_entropy", seeds=5, epochs=20)
    sweep.mean("barrier_after"), sweep.sd("barrier_after")           # by width, over seeds

Modules (one purpose each):
    path.py     `Path`, the result (metrics along t, barrier, anchors), and the barrier formula
    linear.py   `linear_path`
    bezier.py   `bezier` (Garipov et al. 2018), its control point trained functionally
    _pair.py    the checks that two models can be joined; buffers along the path
    _evaluate.py  metrics at many points through ModelObjective, BatchNorm modes
    sweep.py    `width_sweep` (and `slice_roughness`): a family of networks by width x seed
    sweep_result.py  `WidthSweep`, its result
"""

from losslab.connectivity.bezier import bezier
from losslab.connectivity.linear import linear_path
from losslab.connectivity.path import Path
from losslab.connectivity.sweep import slice_roughness, width_sweep
from losslab.connectivity.sweep_result import WidthSweep

__all__ = [
    "Path",
    "WidthSweep",
    "bezier",
    "linear_path",
    "slice_roughness",
    "width_sweep",
]
