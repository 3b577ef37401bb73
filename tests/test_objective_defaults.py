"""The shared starting points and learning rates of the built-in surfaces (both shells use them)."""

from __future__ import annotations

import pytest
import torch

import losslab
from losslab.objectives import Surface
from losslab.objectives.defaults import DEFAULT_LRS, DEFAULT_STARTS, default_lr, default_start


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
