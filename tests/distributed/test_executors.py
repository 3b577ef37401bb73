"""Executors without a cluster: the names, the refusals, the local executor's order, and Ray
kept out of `import losslab` (it is an optional extra)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import losslab as ll
from losslab.errors import LosslabError
from losslab.executors import LocalExecutor, executor_of


def test_import_losslab_never_imports_ray():
    code = "import sys, losslab, losslab.executors; print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_ray_asked_for_without_ray_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray sees
    with pytest.raises(LosslabError) as caught:
        executor_of("ray")
    message = str(caught.value)
    assert "\n" not in message and "pip install 'losslab[ray]'" in message
    surface = ll.surface("himmelblau")
    with pytest.raises(LosslabError, match=r"losslab\[ray\]"):
        ll.landscape(surface, resolution=3, executor="ray")


@pytest.mark.parametrize(
    ("args", "options", "wanted"),
    [
        (("dask",), {}, "must be one of ['local', 'ray']"),
        (("local",), {"address": "auto"}, "do not apply to the local executor"),
        ((LocalExecutor(),), {"address": "auto"}, "set them when making it"),
    ],
)
def test_a_wrong_executor_is_refused_in_one_line(args, options, wanted):
    with pytest.raises(LosslabError) as caught:
        executor_of(*args, **options)
    assert wanted in str(caught.value) and "\n" not in str(caught.value)


def test_ray_options_are_checked_before_ray_is_needed(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    for options, wanted in (
        ({"gpus_per_task": -1}, "gpus_per_task == -1, must be a number >= 0"),
        ({"gpus_per_task": 1.5}, "above 1 it must be a whole number"),
        ({"cpus_per_task": "two"}, "cpus_per_task == 'two'"),
        ({"max_retries": -2}, "max_retries == -2"),
        ({"address": " "}, "address == ' '"),
    ):
        with pytest.raises(LosslabError, match=wanted.replace("(", r"\(").replace("[", r"\[")):
            executor_of("ray", **options)


def test_the_local_executor_runs_units_in_order_and_errors_stay_as_raised():
    seen = []
    LocalExecutor().run(
        lambda shared, unit: shared * unit, 10, [1, 2, 3], lambda i, r: seen.append((i, r))
    )
    assert seen == [(0, 10), (1, 20), (2, 30)]

    def fails(shared, unit):
        raise ZeroDivisionError("in the user's model")

    with pytest.raises(ZeroDivisionError, match="in the user's model"):
        LocalExecutor().run(fails, None, [1], lambda i, r: None)


def test_a_landscape_through_the_local_executor_is_the_default_one():
    surface = ll.surface("rosenbrock")
    default = ll.landscape(surface, resolution=(7, 5), chunk_size=4)
    local = ll.landscape(surface, resolution=(7, 5), chunk_size=4, executor=LocalExecutor())
    np.testing.assert_array_equal(local.values["loss"], default.values["loss"])
    x, y = np.meshgrid(*default.coords, indexing="ij")  # and the oracle: the formula
    np.testing.assert_allclose(default.values["loss"], (1 - x) ** 2 + 100 * (y - x**2) ** 2)


def test_a_network_objective_pickles_as_its_recipe_and_evaluates_the_same():
    import pickle

    import torch

    torch.manual_seed(0)
    data = ll.data.load_dataset("digits")
    model = ll.models.build("mlp_bn", data, width=8)
    model[0].bias.requires_grad_(False)  # a frozen parameter stays out of the layout
    objective = ll.ModelObjective(model, "cross_entropy", data.train, n_samples=300, bn="recompute")
    copy = pickle.loads(pickle.dumps(objective))
    assert copy.layout == objective.layout and "0.bias" not in copy.layout.names
    assert copy.eval_batch_size == objective.eval_batch_size
    points = objective.origin + 0.1 * torch.randn(3, objective.n_params)
    mine, theirs = objective.evaluate(points), copy.evaluate(points)
    for key in mine:
        assert torch.equal(mine[key], theirs[key]), key
