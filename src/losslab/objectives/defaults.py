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


# -- per-optimizer rates for a race -------------------------------------------------------------
# Adaptive optimizers scale each step by a running gradient size, so their step is about lr
# in every coordinate whatever the gradient: on Rosenbrock gd's 0.001 leaves adagrad, rmsprop
# and adam far from the valley, which teaches that they are bad. Each entry below was measured
# with `losslab.descend` from DEFAULT_STARTS in a race's 400 steps (tests/test_objective_defaults.py
# checks them): the rate at which the optimizer reaches the minimum's valley (or, on rastrigin,
# ackley and the camels, the same nearby dimple every optimizer is caught in) without
# overshooting. The gradient-descent family (gd, momentum, nesterov, sgd_noise) keeps the
# surface's DEFAULT_LRS, so their race shows momentum's gain at one shared rate.
ADAPTIVE = ("adagrad", "rmsprop", "adam")
ADAPTIVE_LR = 0.05  # a surface not in the table (an expression): steps of about 0.05
NEWTON_LR = 1.0  # Newton's natural step

DEFAULT_RACE_LRS: dict[str, dict[str, float]] = {
    # name: {optimizer: lr}             adagrad, rmsprop, adam
    "double_well": {"adagrad": 0.3, "rmsprop": 0.02, "adam": 0.05},
    "parabola": {"adagrad": 0.5, "rmsprop": 0.05, "adam": 0.05},
    "bowl": {"adagrad": 1.0, "rmsprop": 0.05, "adam": 0.1},
    "stretched_bowl": {"adagrad": 1.0, "rmsprop": 0.05, "adam": 0.1},
    # adam reaches (1, 1); adagrad and rmsprop crawl along the floor with gd (at larger rates
    # they leap across the valley walls, losses up to 1e3, before they settle).
    "rosenbrock": {"adagrad": 0.1, "rmsprop": 0.01, "adam": 0.1},
    "saddle": {"adagrad": 0.1, "rmsprop": 0.01, "adam": 0.01},  # no minimum: all escape
    "monkey_saddle": {"adagrad": 0.1, "rmsprop": 0.01, "adam": 0.01},
    "himmelblau": {"adagrad": 0.3, "rmsprop": 0.02, "adam": 0.05},
    "beale": {"adagrad": 1.0, "rmsprop": 0.05, "adam": 0.2},
    "booth": {"adagrad": 1.0, "rmsprop": 0.1, "adam": 0.1},
    "three_hump_camel": {"adagrad": 0.3, "rmsprop": 0.02, "adam": 0.05},
    "six_hump_camel": {"adagrad": 0.3, "rmsprop": 0.03, "adam": 0.1},
    "rastrigin": {"adagrad": 0.1, "rmsprop": 0.01, "adam": 0.03},
    "ackley": {"adagrad": 0.3, "rmsprop": 0.03, "adam": 0.1},
    "plateau": {"adagrad": 0.3, "rmsprop": 0.03, "adam": 0.1},
}


def optimizer_lr(surface: Surface, optimizer: str) -> float:
    """The learning rate `optimizer` races at on `surface`: the table's for an adaptive
    optimizer (ADAPTIVE_LR off the table), 1 for Newton, else the surface's default_lr."""
    if optimizer == "newton":
        return NEWTON_LR
    if optimizer in ADAPTIVE:
        return DEFAULT_RACE_LRS.get(surface.name, {}).get(optimizer, ADAPTIVE_LR)
    return default_lr(surface)
