"""One set of argument checks: every public function checks its seed by the same rule.

A seed is an integer in [0, 2**32). A bool or a string is the wrong type (ArgumentTypeError, a
TypeError); a negative or too large integer is a wrong value (LosslabError, a ValueError).
"""

from __future__ import annotations

import pytest
import torch
from curvature_helpers import network

import losslab as ll
from losslab import curvature, optim
from losslab import directions as directions_lib
from losslab._checks import check_count, check_fraction, check_positive, check_scalar, check_seed
from losslab.errors import ArgumentTypeError, LosslabError


def _tiny():
    return network(width=2, n_samples=8)


def _iris():
    return ll.data.load_dataset("iris")


# name -> a call that takes `seed=` and otherwise valid arguments.
SEEDED = {
    "directions.random": lambda seed: directions_lib.random(_tiny()[1], seed=seed),
    "curvature.hessian_directions": lambda seed: curvature.hessian_directions(
        _tiny()[1], seed=seed
    ),
    "curvature.eigenvalues": lambda seed: curvature.eigenvalues(_tiny()[1], k=1, seed=seed),
    "curvature.extremes": lambda seed: curvature.extremes(_tiny()[1], seed=seed),
    "curvature.trace": lambda seed: curvature.trace(_tiny()[1], n_probes=6, seed=seed),
    "curvature.density": lambda seed: curvature.density(
        _tiny()[1], n_probes=1, n_steps=3, seed=seed
    ),
    "curvature.sharpness": lambda seed: curvature.sharpness(_tiny()[1], seed=seed),
    "curvature.curvature_map": lambda seed: curvature.curvature_map(
        ll.surface("saddle"), resolution=2, seed=seed
    ),
    "data.load_dataset": lambda seed: ll.data.load_dataset("iris", seed=seed),
    "models.build": lambda seed: ll.models.build("mlp", _iris(), seed=seed),
    "train": lambda seed: ll.train(
        torch.nn.Linear(4, 3), _iris(), epochs=1, loss="cross_entropy", seed=seed
    ),
    "optim.sgd_noise": lambda seed: optim.sgd_noise(0.1, seed=seed),
}


@pytest.mark.parametrize("name", sorted(SEEDED))
@pytest.mark.parametrize("seed", [True, "3", 1.0, None])
def test_a_seed_of_the_wrong_type_is_a_type_error(name, seed):
    with pytest.raises(ArgumentTypeError, match=r"seed == .*, must be an integer in \[0, 4.29"):
        SEEDED[name](seed)


@pytest.mark.parametrize("name", sorted(SEEDED))
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_out_of_range_is_a_value_error(name, seed):
    with pytest.raises(LosslabError, match=f"seed == {seed}, must be an integer in") as error:
        SEEDED[name](seed)
    assert not isinstance(error.value, TypeError)


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_a_good_seed_passes(name):
    SEEDED[name](2**32 - 1)


def test_the_helpers_say_the_value_and_the_rule():
    with pytest.raises(LosslabError, match=r"^lr == -0.1, must be a finite number > 0\.$"):
        check_positive("lr", -0.1)
    with pytest.raises(ArgumentTypeError, match=r"^n == '3', must be an integer >= 1\.$"):
        check_count("n", "3")
    with pytest.raises(LosslabError, match=r"^beta == 1.0, must be a finite number in \[0, 1\)"):
        check_fraction("beta", 1.0)
    with pytest.raises(LosslabError, match="nan"):
        check_scalar("x", float("nan"))
    assert check_seed(7) == 7 and isinstance(check_positive("lr", 1), float)
