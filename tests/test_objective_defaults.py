"""The shared starting points and learning rates of the built-in surfaces (both shells use them)."""

from __future__ import annotations

import pytest
import torch

import losslab
from losslab.objectives import Surface
from losslab.objectives.defaults import (
    ADAPTIVE,
    ADAPTIVE_LR,
    DEFAULT_LRS,
    DEFAULT_RACE_LRS,
    DEFAULT_STARTS,
    default_lr,
    default_start,
    optimizer_lr,
)
from losslab.optim import get, names


def test_default_starts_fit_every_builtin_and_lie_in_its_window():
    assert set(DEFAULT_STARTS) == set(losslab.surfaces()) == set(DEFAULT_LRS)
    for name in losslab.surfaces():
        surface = losslab.surface(name)
        start = torch.tensor(default_start(surface), dtype=torch.float64)
        assert start.shape == (surface.n_params,)
        assert ((surface.bounds[:, 0] <= start) & (start <= surface.bounds[:, 1])).all(), name
        assert default_lr(surface) > 0


def test_default_start_falls_back_to_the_lower_left_of_the_window():
    custom = Surface("custom", 2, lambda x, y: x**2 + y**2, ((-5.0, 5.0), (0.0, 10.0)))
    assert default_start(custom) == pytest.approx((-4.0, 1.0))
    assert default_lr(custom) == 1e-3


def test_himmelblau_starts_at_the_origin_where_the_value_is_170():
    himmelblau = losslab.surface("himmelblau")
    assert float(himmelblau(default_start(himmelblau))) == 170.0


# -- per-optimizer race rates -------------------------------------------------------------------

RACE_STEPS = 400  # the web race's default
# Where an optimizer crawls at its rate (what the page teaches), it must still be going
# downhill, and on Rosenbrock be on the valley floor: gd there (the quiz: "gradient descent is
# still crawling"), and adagrad and rmsprop, which at any rate that does not leap across the
# valley walls crawl too; gd on the plateau's mesa (momentum builds up speed, gd does not).
# sgd_noise on the flat mesa is a random walk: it may end a hair higher (within 1e-3).
VALLEY_FLOOR = {"rosenbrock": lambda x, y: abs(y - x**2) < 0.05}  # y = x^2, to (1, 1)
CRAWLERS = {("rosenbrock", n) for n in ("gd", "sgd_noise", "adagrad", "rmsprop")}
CRAWLERS |= {("plateau", "gd"), ("plateau", "sgd_noise")}


def _ends_in_a_dimple(surface, point) -> bool:
    """Whether `point` (n,) sits at the bottom of some local minimum's dimple (rastrigin's
    nearest one, say), noise's jitter allowed: gradient descent from there settles within 5%
    of the window's diagonal at a point with zero gradient and a positive definite Hessian."""
    settled = losslab.descend(surface, get("gd", lr=default_lr(surface)), point, 3000)
    bottom = settled.path()[-1]
    _, grads = surface.value_and_grad(bottom[None])
    eigenvalues = torch.linalg.eigvalsh(surface.hessian(bottom[None])[0])
    diagonal = float(torch.linalg.vector_norm(surface.bounds[:, 1] - surface.bounds[:, 0]))
    return (
        float(torch.linalg.vector_norm(bottom - point)) < 0.05 * diagonal
        and float(torch.linalg.vector_norm(grads)) < 1e-4
        and bool((eigenvalues > 0).all())
    )


@pytest.mark.parametrize("name", [n for n in losslab.surfaces() if "saddle" not in n])
def test_every_optimizer_races_into_a_valley_at_its_own_default_rate(name):
    """At optimizer_lr, in 400 steps from the default start, no optimizer diverges, and each
    ends within 5% of the way from the start's loss to the minimum's, or in a local minimum
    (rastrigin's nearest dimple), or, for the named crawlers, lower than it started."""
    surface = losslab.surface(name)
    start = default_start(surface)
    chosen = [n for n in names() if n != "newton"]
    race = losslab.race(
        surface, [get(n, lr=optimizer_lr(surface, n)) for n in chosen], start, RACE_STEPS
    )
    f0 = float(surface(torch.tensor(start, dtype=torch.float64)))
    f_min = float(surface(surface.minima).min())
    for optimizer, trajectory in zip(chosen, race, strict=True):
        run = trajectory.run(0)
        end = run.params[int(run.stopped_at)]
        loss = float(surface(end))
        assert run.status != "diverged", (name, optimizer)
        if optimizer in ADAPTIVE:  # a fair rate does not leap up a valley wall on the way
            highest = float(run.losses[: int(run.stopped_at) + 1].max())
            assert highest <= f0 + 1e-9 * abs(f0), (name, optimizer, highest)
        reached = loss - f_min <= 0.05 * (f0 - f_min)
        if (name, optimizer) in CRAWLERS:
            slack = 1e-3 if optimizer == "sgd_noise" else 0.0
            assert loss < f0 + slack, (name, optimizer, loss)
            if name in VALLEY_FLOOR:
                assert VALLEY_FLOOR[name](*end.tolist()) and loss < 0.4 * f0, (optimizer, loss)
        else:
            # the dimple check (3000 descent steps) only where the minimum was not reached
            caught = reached or _ends_in_a_dimple(surface, end)
            assert caught, (name, optimizer, end.tolist(), loss)


def test_adaptive_optimizers_get_their_own_rate_and_newton_its_natural_step():
    assert set(DEFAULT_RACE_LRS) == set(losslab.surfaces())
    rosenbrock = losslab.surface("rosenbrock")
    assert optimizer_lr(rosenbrock, "gd") == default_lr(rosenbrock) == 1e-3
    assert optimizer_lr(rosenbrock, "adam") == 0.1 and optimizer_lr(rosenbrock, "newton") == 1.0
    typed = losslab.surface("x**2 + y**2")
    assert optimizer_lr(typed, "rmsprop") == ADAPTIVE_LR and optimizer_lr(typed, "gd") == 1e-3
