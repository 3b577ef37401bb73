"""Curvature: Hessians, their spectra and what they say about the local shape."""

from losslab.curvature.critical import CriticalPoint, critical_points, inspect

__all__ = ["CriticalPoint", "critical_points", "inspect"]
