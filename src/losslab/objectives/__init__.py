"""Objectives: scalar functions of a parameter vector, evaluated in batches."""

from losslab.objectives.base import Objective
from losslab.objectives.model import ModelObjective
from losslab.objectives.surfaces import Surface, surface, surfaces

__all__ = ["ModelObjective", "Objective", "Surface", "surface", "surfaces"]
