"""Sizes priced up front: every reproduction of issue 11's "No size limits" and "Wrong numbers"
is refused in one line naming the cost and the limit, before any work or allocation.

The available memory is patched to 1 GB (LOSSLAB_MEMORY_BYTES), so the messages are exact and
nothing of the refused size could ever be allocated. "Before any work" is proven by replacing
the function that would do the work (build the grid, run the loop, make the layers) with one
that fails the test if it is called. The suggested limit is checked against a plain formula:
the suggested value fits, the next one does not.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import losslab as ll
from losslab import attraction, budget, descent, optim
from losslab.data import load_dataset
from losslab.data.dataset import CLASSIFICATION, Dataset
from losslab.landscapes import compute, grid
from losslab.models import build, registry, zoo

GB = 10**9


@pytest.fixture
def one_gb(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, str(GB))


@pytest.fixture
def half_gb(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, str(GB // 2))


@pytest.fixture
def plenty(monkeypatch):
    """A petabyte: only the caps on time can refuse."""
    monkeypatch.setenv(budget.MEMORY_ENV, str(10**15))


def no_work(*args, **kwargs):
    raise AssertionError("work began before the size was checked")


def suggested(message: str, name: str) -> int:
    return int(re.search(rf"use {name} <= (\d+)\.$", message).group(1))


# -- the module itself -----------------------------------------------------------------------


def test_available_memory_reads_the_override_then_meminfo_then_sysconf(monkeypatch, tmp_path):
    monkeypatch.setenv(budget.MEMORY_ENV, "12345")
    assert budget.available_memory() == 12345
    monkeypatch.setenv(budget.MEMORY_ENV, "lots")
    with pytest.raises(ll.LosslabError, match="LOSSLAB_MEMORY_BYTES == 'lots', must be an int"):
        budget.available_memory()
    monkeypatch.delenv(budget.MEMORY_ENV)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 9999 kB\nMemAvailable:    2048 kB\n")
    real_open = open
    monkeypatch.setattr(
        budget,
        "open",
        lambda path, *a: real_open(meminfo if path == "/proc/meminfo" else path),
        raising=False,
    )
    assert budget.available_memory() == 2048 * 1024

    def no_proc(*args):
        raise FileNotFoundError("/proc/meminfo")

    monkeypatch.setattr(budget, "open", no_proc, raising=False)
    pages = {"SC_AVPHYS_PAGES": 3, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(budget.os, "sysconf", pages.__getitem__)
    assert budget.available_memory() == 3 * 4096


def test_the_real_machine_has_some_memory_available(monkeypatch):
    monkeypatch.delenv(budget.MEMORY_ENV, raising=False)
    assert 0 < budget.available_memory() < 1 << 60


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (999, "999 bytes"),
        (1500, "1.5 kB"),
        (1.6e11, "160 GB"),
        (2.24e12, "2.2 TB"),
        (6.4e14, "640 TB"),
        (10**20, "10^20 bytes"),
        (10**400, "10^400 bytes"),
    ],
)
def test_format_bytes(n, text):
    assert budget.format_bytes(n) == text


def test_largest_fitting_is_the_last_value_under_the_limit():
    for limit in (0, 1, 99, 100, 101, 10**6):
        found = budget.largest_fitting(lambda v: v * v, limit, 1, 10**4)
        if limit < 1:
            assert found is None
        else:
            assert found * found <= limit < (found + 1) ** 2


# -- basins, grids, landscapes ---------------------------------------------------------------


def test_basins_resolution_100000_is_refused_before_the_grid_exists(one_gb, monkeypatch):
    monkeypatch.setattr(attraction, "grid_points", no_work)
    monkeypatch.setattr(attraction, "_run", no_work)
    with pytest.raises(ll.LosslabError) as error:
        ll.basins(ll.surface("himmelblau"), optim.gd(0.01), resolution=100_000)
    message = str(error.value)
    assert message.startswith(
        "basins resolution == 100000 needs about 2.2 TB (1e+10 points x 28 float64 numbers "
        "each); this machine has 1 GB available: use resolution <= "
    )
    r = suggested(message, "resolution")
    per_point = 9 * 2 + 2 * 2 + 6  # the 28 numbers per start of a 2-parameter surface
    assert r * r * per_point * 8 <= GB < (r + 1) ** 2 * per_point * 8
    assert "\n" not in message


def test_the_suggestion_fits_and_runs(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, str(200_000))  # 200 kB: a 29 x 29 grid at most
    with pytest.raises(ll.LosslabError, match="use resolution <= 29") as error:
        ll.basins(ll.surface("himmelblau"), optim.gd(0.01), resolution=30, n_steps=5)
    r = suggested(str(error.value), "resolution")
    assert ll.basins(ll.surface("himmelblau"), optim.gd(0.01), resolution=r, n_steps=5)


def test_grids_beyond_the_point_cap_are_refused_even_with_memory_to_spare(plenty, monkeypatch):
    monkeypatch.setattr(attraction, "grid_points", no_work)
    with pytest.raises(ll.LosslabError) as error:
        ll.basins(ll.surface("himmelblau"), optim.gd(0.01), resolution=20_000)
    assert str(error.value) == (
        "basins resolution == 20000 gives 400,000,000 grid points, more than the 100,000,000 "
        "losslab allows: use resolution <= 10000."
    )
    # when memory binds first, its suggestion also respects the cap
    monkeypatch.setenv(budget.MEMORY_ENV, str(40 * GB))
    with pytest.raises(ll.LosslabError, match="needs about 90 GB.*use resolution <= 10000\\.$"):
        ll.basins(ll.surface("himmelblau"), optim.gd(0.01), resolution=20_000)


def test_evaluate_grid_is_refused_before_the_grid_exists(one_gb, monkeypatch):
    monkeypatch.setattr(grid, "grid_points", no_work)
    with pytest.raises(ll.LosslabError) as error:
        ll.evaluate_grid(ll.surface("rosenbrock"), resolution=100_000)
    message = str(error.value)
    assert message.startswith("evaluate_grid resolution == 100000 needs about 640 GB (1e+10 points")
    r = suggested(message, "resolution")
    assert r * r * 8 * 8 <= GB < (r + 1) ** 2 * 8 * 8  # 3n + 2 = 8 numbers per point


@pytest.fixture
def logistic_objective():
    data = load_dataset("logistic")
    model = build("logistic_regression", data)
    return ll.ModelObjective(model, "bce", data.train)


def test_a_landscape_of_10_to_the_10_points_is_refused_and_leaves_no_file(
    one_gb, monkeypatch, tmp_path, logistic_objective
):
    monkeypatch.setattr(compute, "evaluate_chunk", no_work)
    out = tmp_path / "big.h5"
    with pytest.raises(ll.LosslabError) as error:
        ll.landscape(logistic_objective, resolution=100_000, out=out)
    message = str(error.value)
    n_metrics = len(logistic_objective.metrics)
    assert message.startswith(
        f"landscape resolution == 100000 needs about {budget.format_bytes(1e10 * 32 * n_metrics)}"
    )
    r = suggested(message, "resolution")
    assert r * r * 32 * n_metrics <= GB < (r + 1) ** 2 * 32 * n_metrics
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(budget.MEMORY_ENV, str(10**15))
    with pytest.raises(ll.LosslabError) as error:
        ll.landscape(logistic_objective, resolution=[3, 10**8])  # per axis: shown as given
    assert str(error.value) == (
        "landscape resolution == [3, 100000000] gives 300,000,000 grid points, more than the "
        "100,000,000 losslab allows: use resolution <= 33333333."
    )


def test_a_span_whose_grid_overflows_is_refused(logistic_objective, monkeypatch):
    monkeypatch.setattr(compute, "evaluate_chunk", no_work)
    # a float32 model: its weights +- 1e308, and any reach beyond 3.4e38, overflow float32
    for span in (1e308, 1e39):
        with pytest.raises(ll.LosslabError) as error:
            ll.landscape(logistic_objective, span=span, resolution=3)
        assert str(error.value).startswith(f"span == {span!r} overflows: the grid reaches ")
        assert "beyond float32's largest number 3.4e+38; use a smaller span." in str(error.value)
    # a float64 surface: the linspace width hi - lo overflows though both ends are finite
    surface = ll.surface("bowl")
    with pytest.raises(ll.LosslabError, match="beyond float64's largest number 1.8e\\+308"):
        ll.landscape(surface, span=[(-1e308, 1e308), (-1, 1)], resolution=3)
    with pytest.raises(ll.LosslabError, match="overflows"):  # the farthest point, not the axis
        ll.landscape(
            surface,
            torch.ones(1, 2, dtype=torch.float64),
            span=1.5e308,
            resolution=3,
            origin=[1e308, 0.0],
        )
    # what fits stays allowed, with finite coordinates
    monkeypatch.undo()
    fine = ll.landscape(logistic_objective, span=1e30, resolution=3)
    assert all(np.isfinite(c).all() for c in fine.coords)


# -- descent and race ------------------------------------------------------------------------


def test_race_n_steps_10_to_the_10_is_refused_before_the_loop(one_gb, monkeypatch):
    monkeypatch.setattr(descent, "_run", no_work)
    surface = ll.surface("himmelblau")
    with pytest.raises(ll.LosslabError) as error:
        ll.race(surface, [optim.gd(0.01), optim.adam(0.1)], [0.0, 0.0], 10**10)
    message = str(error.value)
    assert message.startswith(
        "race n_steps == 10000000000 needs about 1.3 TB (10000000001 rows x 2 runs x 4 float64 "
        "numbers, twice); this machine has 1 GB available: use n_steps <= "
    )
    steps = suggested(message, "n_steps")
    assert 2 * (steps + 1) * 2 * 4 * 8 <= GB < 2 * (steps + 2) * 2 * 4 * 8
    with pytest.raises(ll.LosslabError, match="race n_steps == 10000000000 needs"):
        ll.descend(surface, optim.gd(0.01), [0.0, 0.0], 10**10)


def test_more_steps_than_the_cap_are_refused_with_memory_to_spare(plenty, monkeypatch):
    surface = ll.surface("himmelblau")
    cap = (
        "n_steps == 100000000 is more than the 10,000,000 steps per run losslab allows: "
        "use n_steps <= 10000000."
    )
    monkeypatch.setattr(descent.Optimizer, "init", no_work)  # the loop never starts
    with pytest.raises(ll.LosslabError) as error:
        ll.race(surface, [optim.gd(0.01)], [0.0, 0.0], 10**8)
    assert str(error.value) == "race " + cap
    monkeypatch.setattr(attraction, "grid_points", no_work)
    with pytest.raises(ll.LosslabError) as error:  # basins records nothing, but steps cost time
        ll.basins(surface, optim.gd(0.01), resolution=3, n_steps=10**8)
    assert str(error.value) == "basins " + cap


def test_a_recorded_path_stops_when_its_run_converges_or_diverges():
    bowl = ll.surface("bowl")
    # Newton reaches the minimum of a quadratic in one step: 2 rows, not 10^6 + 1.
    newton = ll.descend(bowl, optim.newton(), [3.0, -2.0], 10**6)
    assert newton.status == "converged" and newton.stopped_at == 1
    assert newton.params.shape == (2, 2) and newton.losses.shape == (2,) and newton.n_steps == 1
    # gd with lr 1.5 doubles the distance per step and leaves the bound after 8 good steps.
    diverged = ll.descend(bowl, optim.gd(1.5), [1.0, 1.0], 10**6)
    assert diverged.status == "diverged" and len(diverged.params) == diverged.stopped_at + 1 == 9
    # A run that never stops keeps all n_steps + 1 rows.
    slow = ll.descend(ll.surface("rosenbrock"), optim.gd(1e-4), [-1.5, 2.0], 50)
    assert slow.status == "max_steps" and slow.params.shape == (51, 2)
    # In a race each optimizer's path ends with its own last run.
    raced = ll.race(bowl, [optim.newton(), optim.gd(1.5), optim.gd(0.01)], [1.0, 1.0], 100)
    assert [len(t.params) for t in raced] == [2, 9, 101]
    # In a batch, rows run to the last run's stop; an earlier run repeats its last point.
    batch = ll.descend(bowl, optim.gd(0.4), [[1.0, 1.0], [0.0, 0.0]], 10**6)
    assert batch.stopped_at[1] == 0 and len(batch.params) == batch.stopped_at[0] + 1 < 200
    assert (batch.params[:, 1] == 0).all()


# -- models and data -------------------------------------------------------------------------


def mlp_parameters(n_in, width, depth, n_out):
    """A plain count: each Linear's weight and bias."""
    sizes = [n_in] + [width] * depth + [n_out]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


@pytest.mark.parametrize("width", [100_000, 10**9, 10**40])
def test_a_huge_width_is_refused_before_any_layer_exists(width, one_gb, monkeypatch):
    monkeypatch.setattr(zoo, "mlp", no_work)
    data = load_dataset("digits")
    with pytest.raises(ll.LosslabError) as error:
        build("mlp", data, width=width)
    message = str(error.value)
    n = mlp_parameters(64, width, 2, 10)
    assert message.startswith(
        f"mlp width == {width} needs about {budget.format_bytes(n * 40)} ({n:.3g} parameters x "
        "40 bytes: weights, gradients and optimizer state in float32, slice directions in float64)"
    )
    w = suggested(message, "width")
    assert mlp_parameters(64, w, 2, 10) * 40 <= GB < mlp_parameters(64, w + 1, 2, 10) * 40
    # the oracle agrees with torch on a width that fits
    monkeypatch.undo()
    net = build("mlp", data, width=7, depth=3)
    assert sum(p.numel() for p in net.parameters()) == mlp_parameters(64, 7, 3, 10)


def test_depth_and_the_other_built_ins_are_priced(half_gb, monkeypatch):
    digits = load_dataset("digits")
    with pytest.raises(ll.LosslabError) as error:
        build("mlp", digits, depth=100_000)
    assert str(error.value) == (
        "mlp depth == 100000 is more than the 1,000 layers losslab allows: use depth <= 1000."
    )
    with pytest.raises(ll.LosslabError, match="mlp depth == 1000 needs about .* use depth <= "):
        build("mlp", digits, depth=1000)  # 1.6e7 parameters: the depth alone was given
    for name in ("mlp_bn", "mlp"):
        built = build(name, digits, width=5, depth=2)
        counted = sum(p.numel() for p in built.parameters())
        expected = mlp_parameters(64, 5, 2, 10) + (2 * 5 * 2 if name == "mlp_bn" else 0)
        assert counted == expected
    images = load_dataset("digits", images=True)
    monkeypatch.setattr(zoo, "cnn", no_work)
    with pytest.raises(ll.LosslabError, match="cnn width == 100000 needs about 7.2 TB"):
        build("cnn", images, width=100_000)
    with pytest.raises(ll.LosslabError, match="3x3 convolutions do not fit"):
        monkeypatch.undo()
        build("cnn", images, depth=50)  # the image refuses it before the price is asked
    cnn = build("cnn", images, width=3, depth=3)  # 8 -> 6 -> 4 -> 2 pixels
    assert sum(p.numel() for p in cnn.parameters()) == (
        (1 * 3 * 9 + 3) + (3 * 6 * 9 + 6) + (6 * 12 * 9 + 12) + (12 * 2 * 2 * 10 + 10)
    )
    assert registry.MLP_WIDTH == 128  # the default the price uses when no width is given


def _classification(y, name="big"):
    X = torch.zeros(len(y), 2)
    return Dataset(name, X, y, X[:0], y[:0], CLASSIFICATION, int(y.max()) + 1, (2,), "a test set")


def test_a_label_of_2_to_the_31_is_refused_by_the_class_count(one_gb):
    y = torch.zeros(10, dtype=torch.int64)
    y[3] = 2**31 - 1
    with pytest.raises(ll.LosslabError) as error:
        _classification(y)
    message = str(error.value)
    assert message.startswith(
        "dataset 'big' n_classes == 2147483648 needs about 260 GB (10 samples x 2147483648 "
        "classes x 3 float32 numbers: logits, softmax and gradient; the classes are the largest "
        "label + 1); this machine has 1 GB available: use n_classes <= "
    )
    c = suggested(message, "n_classes")
    assert 10 * c * 12 <= GB < 10 * (c + 1) * 12
    assert _classification(torch.tensor([0, 1, 2, 1])).n_classes == 3  # small sets pass


def test_an_npz_with_a_huge_label_is_refused_when_loaded(one_gb, tmp_path):
    from losslab.cli.model_loading import load_npz

    y = np.zeros(10, dtype=np.int64)
    y[0] = 2**31 - 1
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((10, 2), dtype=np.float32), y=y)
    with pytest.raises(ll.LosslabError, match="dataset 'd' n_classes == 2147483648 needs about"):
        load_npz(path, None)


def test_learning_rates_above_the_cap_are_refused():
    for factory in (optim.gd, optim.momentum, optim.adam, optim.newton, optim.rmsprop):
        with pytest.raises(ll.LosslabError, match=r"lr == 1e\+308, must be a finite number in"):
            factory(lr=1e308)
        assert factory(lr=1e6).hyperparameters["lr"] == 1e6
    data = load_dataset("logistic")
    model = build("logistic_regression", data)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ll.LosslabError, match=r"lr == 1e\+308, must be a finite number in"):
        ll.train(model, data, lr=1e308, epochs=1)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert math.isclose(ll.train(model, data, lr=1e6, epochs=1).hyperparameters["lr"], 1e6)


def test_generated_sets_and_training_are_priced_before_they_start(one_gb, monkeypatch):
    import importlib
    from dataclasses import replace

    datasets = importlib.import_module("losslab.data.datasets")  # the module, not the function
    for name in ("moons", "blobs"):  # generating would fail the test
        monkeypatch.setitem(datasets._SPECS, name, replace(datasets._SPECS[name], make=no_work))
    with pytest.raises(ll.LosslabError) as error:
        load_dataset("moons", n_samples=10**10)
    message = str(error.value)
    assert message.startswith(
        "dataset 'moons' n_samples == 10000000000 needs about 1.4 TB (10000000000 samples x 3 "
        "numbers x 6 float64 copies); this machine has 1 GB available: use n_samples <= "
    )
    n = suggested(message, "n_samples")
    assert n * 3 * 48 <= GB < (n + 1) * 3 * 48
    with pytest.raises(ll.LosslabError, match="dataset 'blobs' n_features == 10000000000 needs"):
        load_dataset("blobs", n_features=10**10)
    data = load_dataset("iris")  # 112 training samples: 2 batches of 64 per epoch
    model = build("mlp", data, width=4)
    with pytest.raises(ll.LosslabError) as error:
        ll.train(model, data, epochs=10**7)
    assert str(error.value) == (
        "train epochs == 10000000 gives 20,000,000 optimizer steps, more than the 10,000,000 "
        "losslab allows: use epochs <= 5000000."
    )


def test_eigenvalues_refuse_a_lanczos_basis_that_does_not_fit(monkeypatch):
    # 4675 parameters: k = 3000 asks for a basis of all 4675 vectors, 4675^2 float64 (175e6 B).
    monkeypatch.setenv(budget.MEMORY_ENV, str(10**8))
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )
    objective = ll.ModelObjective(
        model, "cross_entropy", (torch.randn(50, 4), torch.randint(0, 3, (50,)))
    )
    with pytest.raises(ll.LosslabError, match=r"eigenvalues k == 3000 needs about 170 MB") as error:
        ll.curvature.eigenvalues(objective, k=3000)
    # the suggested k is the largest whose basis fits: (100 + 20 k) x 4675 x 8 <= 10^8
    suggested = int(str(error.value).rsplit("k <= ", 1)[1].rstrip("."))
    assert (100 + 20 * suggested) * 4675 * 8 <= 10**8 < (100 + 20 * (suggested + 1)) * 4675 * 8


def test_curvature_sizes_are_priced(monkeypatch):
    # a 2-parameter surface: n = 2, so only probes and grids can be too big
    monkeypatch.setenv(budget.MEMORY_ENV, str(10**6))
    bowl = ll.surface("bowl")
    with pytest.raises(
        ll.LosslabError, match=r"trace n_probes == 100000 needs about .* use n_probes <= 20833\."
    ):
        ll.curvature.trace(bowl, n_probes=100_000, at=[0.0, 0.0])
    with pytest.raises(ll.LosslabError, match=r"density n_probes == 100000 needs about"):
        ll.curvature.density(bowl, n_probes=100_000, at=[0.0, 0.0])
    with pytest.raises(ll.LosslabError, match=r"curvature_map resolution == 1000 needs about"):
        ll.curvature.curvature_map(bowl, resolution=1000)
    # within the budget the same calls run
    assert ll.curvature.trace(bowl, n_probes=6, at=[0.0, 0.0]).estimate == pytest.approx(4.0)
