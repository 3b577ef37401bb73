"""`losslab surfaces`: the built-in surfaces, their dimensions, minima and formulas."""

from __future__ import annotations

import losslab
from losslab.cli.render import console, surfaces_table


def surfaces() -> None:
    """The built-in surfaces: name, dimensions, known minima, what each teaches, formula.

    Options such as ':condition=10' follow the name: 'losslab race stretched_bowl:condition=25'.
    """
    console().print(surfaces_table([losslab.surface(name) for name in losslab.surfaces()]))
