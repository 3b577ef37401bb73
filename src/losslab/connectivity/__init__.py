"""Connectivity: paths between trained networks (i14-conn) and the width sweep (i14-sweep)."""

from losslab.connectivity.sweep import slice_roughness, width_sweep
from losslab.connectivity.sweep_result import WidthSweep

__all__ = ["WidthSweep", "slice_roughness", "width_sweep"]
