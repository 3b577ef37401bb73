"""Landscapes of objectives seen through a 1-D or 2-D slice: compute, store, resume, load.

landscape(objective, directions, ...) -> Landscape      compute.py
Landscape (frozen result, HDF5 save/load, project)      result.py
resumable chunk store behind `out=`                      store.py
the spec that identifies a computation                   spec.py
evaluate_grid: the identity slice of a 1-D/2-D objective grid.py
the share of a grid that is not locally convex           convexity.py
Landscape.export: .vts/.vtk (ParaView), .csv, .npz       export.py
"""

from losslab.landscapes.compute import evaluate_chunk, landscape
from losslab.landscapes.result import Landscape

__all__ = ["Landscape", "evaluate_chunk", "landscape"]
