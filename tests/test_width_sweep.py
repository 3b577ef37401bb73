"""width_sweep: every figure against an oracle computed directly from the same networks,
retrained here (a model evaluated by hand, linear_path, a dense Hessian, the slice itself);
determinism, summaries against numpy, refusals, save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

import losslab as ll
from losslab.connectivity import WidthSweep, linear_path, slice_roughness, width_sweep
from losslab.connectivity.sweep import PLANE_SEED_STRIDE
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.landscapes.convexity import nonconvex_share
from losslab.symmetry import permute, weight_matching

pytestmark = pytest.mark.usefixtures("one_thread")

WIDTHS = (2, 3)
SEEDS = (5, 8)
TRAINING = {"optimizer": "sgd", "lr": 0.2, "momentum": 0.5, "epochs": 2, "batch_size": 16}
OPTIONS = {**TRAINING, "span": 0.5, "resolution": 5, "n_points": 5}


def make_model(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, 2))


@pytest.fixture(scope="module")
def data():
    X, y = load_dataset("moons", seed=0).train
    return X[:48], y[:48]


@pytest.fixture(scope="module")
def calls():
    return []


@pytest.fixture(scope="module")
def sweep(data, calls):
    return width_sweep(
        make_model,
        list(WIDTHS),
        data,
        "cross_entropy",
        seeds=list(SEEDS),
        progress=lambda done, total: calls.append((done, total)),
        **OPTIONS,
    )


def trained(width: int, seed: int, data) -> nn.Module:
    """The oracle's own network: built under torch seeded with `seed`, trained with `seed`."""
    torch.manual_seed(seed)
    model = make_model(width)
    ll.train(model, data, loss="cross_entropy", seed=seed, **TRAINING)
    return model


def test_final_loss_and_accuracy_are_the_trained_networks_own(sweep, data):
    X, y = data
    for w, width in enumerate(WIDTHS):
        for s, seed in enumerate(SEEDS):
            model = trained(width, seed, data).eval()
            with torch.no_grad():
                out = model(X)
            loss = nn.functional.cross_entropy(out, y)
            accuracy = (out.argmax(1) == y).double().mean()
            assert sweep.samples["loss"][w, s] == pytest.approx(float(loss), rel=1e-5)
            assert sweep.samples["accuracy"][w, s] == pytest.approx(float(accuracy), abs=1e-6)
            assert sweep.at(width, seed)["loss"] == sweep.samples["loss"][w, s]


def test_barriers_are_linear_paths_to_the_next_seed_before_and_after_matching(sweep, data):
    width = WIDTHS[1]
    models = [trained(width, seed, data) for seed in SEEDS]
    for s in range(len(SEEDS)):
        model, partner = models[s], models[(s + 1) % len(SEEDS)]
        before = linear_path(model, partner, "cross_entropy", data, n_points=5)
        aligned = permute(partner, weight_matching(model, partner))
        after = linear_path(model, aligned, "cross_entropy", data, n_points=5)
        got = sweep.at(width, SEEDS[s])
        assert got["barrier_before"] == pytest.approx(before.barrier["loss"], rel=1e-6, abs=1e-9)
        assert got["barrier_after"] == pytest.approx(after.barrier["loss"], rel=1e-6, abs=1e-9)
        assert got["barrier_accuracy_before"] == pytest.approx(before.barrier["accuracy"])
        assert got["barrier_accuracy_after"] == pytest.approx(after.barrier["accuracy"])


def test_top_eigenvalue_is_the_dense_hessians_largest(sweep, data):
    X, y = data
    width, seed = WIDTHS[0], SEEDS[1]
    model = trained(width, seed, data)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    model = model.double()

    def loss(vector):
        pieces = torch.split(vector, [int(np.prod(s)) for s in shapes])
        params = {n: p.reshape(s) for n, p, s in zip(names, pieces, shapes, strict=True)}
        return nn.functional.cross_entropy(functional_call(model, params, (X.double(),)), y)

    hessian = torch.autograd.functional.hessian(loss, flat)  # (n_params, n_params)
    top = float(torch.linalg.eigvalsh(hessian)[-1])
    assert sweep.at(width, seed)["top_eigenvalue"] == pytest.approx(top, rel=1e-4)


def test_slice_figures_are_those_of_the_seeds_random_filter_normalized_slice(sweep, data):
    width, seed = WIDTHS[1], SEEDS[0]
    objective = ll.ModelObjective(trained(width, seed, data), "cross_entropy", data)
    dirs = ll.directions.random(objective, 2, normalization="filter", seed=seed)
    grid = ll.landscape(objective, dirs, span=0.5, resolution=5, metrics=["loss"])
    x, y = grid.coords
    got = sweep.at(width, seed)
    assert got["nonconvex_share"] == nonconvex_share(x, y, grid.values["loss"])
    assert got["roughness"] == pytest.approx(slice_roughness(grid.values["loss"]), abs=1e-12)
    assert sweep.settings["plane_seed"] == f"seed + {PLANE_SEED_STRIDE} * plane"


def test_roughness_is_zero_for_quadratics_scale_free_and_the_unexplained_share():
    x, y = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-2, 2, 9), indexing="ij")
    for quadratic in (x**2 + y**2, x**2 - 3 * y**2 + x * y, 2 * x - y + 4, np.full_like(x, 3.0)):
        assert slice_roughness(quadratic) == pytest.approx(0.0, abs=1e-7)
    bumps = np.cos(3 * x) * np.sin(2 * y) + 0.5 * x**2
    r = slice_roughness(bumps)
    assert 0.1 < r < 1
    assert slice_roughness(7.5 * bumps + 100) == pytest.approx(r, rel=1e-9)
    # Oracle: the residual of the orthogonal projection onto the six quadratic monomials.
    design = np.stack([np.ones(x.size), *(t.ravel() for t in (x, y, x * x, x * y, y * y))], 1)
    v = bumps.ravel()
    residual = v - design @ np.linalg.pinv(design) @ v
    assert r == pytest.approx(np.linalg.norm(residual) / np.linalg.norm(v - v.mean()))
    assert np.isnan(slice_roughness(np.where(x > 0.9, np.nan, bumps)))
    with pytest.raises(LosslabError, match="both >= 3"):
        slice_roughness(np.ones((2, 5)))


def test_summaries_are_numpys_and_progress_counts_every_cell(sweep, calls):
    assert sweep.widths.tolist() == list(WIDTHS) and sweep.seeds.tolist() == list(SEEDS)
    assert set(sweep.samples) == set(ll.connectivity.sweep_result.FIGURES)
    rows = sweep.rows()
    for figure, values in sweep.samples.items():
        v = values.numpy()
        assert v.shape == (len(WIDTHS), len(SEEDS)) and np.isfinite(v).all(), figure
        np.testing.assert_array_equal(sweep.mean(figure), np.mean(v, axis=1))
        np.testing.assert_array_equal(sweep.sd(figure), np.std(v, axis=1, ddof=1))
        assert [r[figure] for r in rows] == list(np.mean(v, axis=1))
        assert [r[figure + "_sd"] for r in rows] == list(np.std(v, axis=1, ddof=1))
    assert [r["width"] for r in rows] == list(WIDTHS)
    assert calls == [(i, 4) for i in range(1, 5)]
    assert sweep.settings["epochs"] == 2 and sweep.settings["lr"] == 0.2
    assert sweep.settings["n_params"] == {"2": 12, "3": 17}


def test_same_arguments_same_numbers(sweep, data):
    widths = np.array(WIDTHS[::-1])  # any order, any sequence of whole numbers
    again = width_sweep(make_model, widths, data, "cross_entropy", seeds=SEEDS, **OPTIONS)
    for figure, values in sweep.samples.items():
        torch.testing.assert_close(again.samples[figure], values, rtol=0, atol=0)
    assert again.widths.tolist() == list(WIDTHS)


def test_saved_and_loaded_through_the_codec(sweep, tmp_path):
    for suffix in (".json", ".h5"):
        loaded = ll.load_result(sweep.save(tmp_path / f"s{suffix}"))
        assert isinstance(loaded, WidthSweep) and loaded.settings == sweep.settings
        for figure, values in sweep.samples.items():
            torch.testing.assert_close(loaded.samples[figure], values, rtol=0, atol=0)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"widths": [2, 0]}, "whole number >= 1"),
        ({"widths": [2, 2.5]}, "whole number >= 1"),
        ({"widths": []}, "one at least"),
        ({"widths": [2, 2]}, "repeats a width"),
        ({"widths": 4}, "list of positive whole numbers"),
        ({"seeds": 1}, "2 seeds at least"),
        ({"seeds": [3]}, "2 distinct seeds"),
        ({"seeds": [3, 3]}, "2 distinct seeds"),
        ({"seeds": [0, -1]}, "each seed"),
        ({"epochs": 0}, "epochs"),
        ({"resolution": 2}, "resolution"),
        ({"span": -1.0}, "span"),
        ({"make_model": "mlp"}, "make_model"),
        ({"make_model": lambda w: 3}, "must be a torch nn.Module"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(data, change, words):
    args = {"make_model": make_model, "widths": [2], "seeds": 2, "epochs": 1} | change
    with pytest.raises(LosslabError, match=words) as info:
        width_sweep(args.pop("make_model"), args.pop("widths"), data, "cross_entropy", **args)
    assert "\n" not in str(info.value)


def test_a_damaged_sweep_is_refused(sweep):
    with pytest.raises(LosslabError, match="shape"):
        WidthSweep(sweep.widths, sweep.seeds, {**sweep.samples, "loss": torch.zeros(3, 2)})
    with pytest.raises(LosslabError, match="ascending"):
        WidthSweep(sweep.widths.flip(0), sweep.seeds, sweep.samples)
    with pytest.raises(LosslabError, match="lack"):
        WidthSweep(sweep.widths, sweep.seeds, {"loss": sweep.samples["loss"]})
    with pytest.raises(LosslabError, match="not in this sweep"):
        sweep.mean("rise")
