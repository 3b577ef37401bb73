"""Starting points and learning rates that make each built-in surface tell its story.

One table for both shells: the CLI (`losslab descend`) and the web lab start from here.

A surface not listed here (an expression, or a new built-in) starts 80% of the way from the
centre of its window to the lower-left corner, with the shared default learning rate.
"""

from __future__ import annotations

from losslab.objectives.surfaces import Surface

DEFAULT_LR = 1e-3

# name: start. Each start is chosen for what the run shows.
DEFAULT_STARTS: dict[str, tuple[float, ...]] = {
    "double_well": (2.2,),  # gd stops in the shallow well; momentum rolls over
    "parabola": (2.5,),
    "bowl": (-4.0, 3.0),
    "stretched_bowl": (-4.5, 2.0),  # the long axis is slow for gd
    "rosenbrock": (-1.5, 2.0),  # enter the valley fast, crawl along it to (1, 1)
    "saddle": (-1.5, 0.05),  # just off the x-axis: attracted in x, repelled in y
    "monkey_saddle": (-1.0, 0.3),
    "himmelblau": (0.0, 0.0),  # value 170 near the maximum: four minima to pick from
    "beale": (1.0, 1.5),
    "booth": (-8.0, -6.0),
    "three_hump_camel": (-2.0, -1.0),
    "six_hump_camel": (-2.0, 1.0),
    "rastrigin": (-2.5, 2.0),  # the nearest egg-crate dimple catches every optimizer
    "ackley": (-3.0, 2.5),
    "plateau": (-2.5, -2.0),  # gd crawls on the mesa, momentum builds up speed
}

# name: the shared learning rate when none is given (Newton keeps lr=1).
DEFAULT_LRS: dict[str, float] = {
    "double_well": 0.05,
    "parabola": 0.1,
    "bowl": 0.1,
    "stretched_bowl": 0.03,  # stable up to condition ~33
    "rosenbrock": 1e-3,
    "saddle": 0.05,
    "monkey_saddle": 0.01,
    "himmelblau": 0.01,
    "beale": 1e-3,
    "booth": 0.02,
    "three_hump_camel": 0.01,
    "six_hump_camel": 0.01,
    "rastrigin": 2e-3,
    "ackley": 0.01,
    "plateau": 1.0,
}


def default_start(surface: Surface) -> tuple[float, ...]:
    """The table's start for a built-in; else 80% of the way from the centre to the
    lower-left corner of the window."""
    if surface.name in DEFAULT_STARTS:
        return DEFAULT_STARTS[surface.name]
    low, high = surface.bounds[:, 0], surface.bounds[:, 1]
    centre = (low + high) / 2
    return tuple(float(v) for v in centre + 0.8 * (low - centre))


def default_lr(surface: Surface) -> float:
    """The table's learning rate for a built-in; else DEFAULT_LR."""
    return DEFAULT_LRS.get(surface.name, DEFAULT_LR)
