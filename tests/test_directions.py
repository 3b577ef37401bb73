import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from torch import nn

import losslab as ll
import losslab.directions as directions
from losslab.errors import LosslabError
from losslab.params import ParamLayout, model_vector


def small_cnn(seed: int = 0, dtype=torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(12, 5),
        nn.ReLU(),
        nn.Linear(5, 2),
    ).to(dtype)


def filter_norms(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.reshape(tensor.shape[0], -1).double().norm(dim=1)


# -- random, filter normalization ---------------------------------------------------------------


def test_filter_normalization_matches_every_filter_norm_and_zeroes_biases_and_bn():
    model = small_cnn()
    found = directions.random(model, 2, seed=3)
    weights = dict(model.named_parameters())
    assert len(found) == 2 and found.vectors.shape == (2, ParamLayout.of(model).n_params)
    for direction in found:
        assert list(direction) == list(weights)
        for name, d in direction.items():
            w = weights[name].detach()
            assert d.shape == w.shape
            if w.ndim > 1:  # conv output channels, Linear rows
                assert torch.allclose(filter_norms(d), filter_norms(w), rtol=1e-9)
                assert not torch.allclose(d.double(), w.double())  # rescaled noise, not w
            else:  # biases and BatchNorm scale/shift
                assert torch.count_nonzero(d) == 0


def test_filter_normalization_follows_the_reference_code_for_1d_params_when_not_ignored():
    model = small_cnn()
    found = directions.random(model, 1, seed=0, ignore=None)[0]
    for name, w in model.named_parameters():
        if w.ndim == 1:  # Li et al.: d.copy_(w)
            assert torch.equal(found[name], w.detach().double())


def test_layer_normalization_matches_whole_tensor_norms():
    model = small_cnn()
    found = directions.random(model, 1, normalization="layer", seed=2)[0]
    for name, w in model.named_parameters():
        if w.ndim > 1:
            assert torch.allclose(found[name].norm(), w.detach().double().norm(), rtol=1e-9)
            assert not torch.allclose(filter_norms(found[name]), filter_norms(w))


def test_no_normalization_is_the_seeded_gaussian_draw():
    model = small_cnn()
    n = ParamLayout.of(model).n_params
    found = directions.random(model, 2, normalization="none", ignore=None, seed=5)
    expected = torch.randn(2, n, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert torch.equal(found.vectors, expected)


def test_random_is_deterministic_by_seed_and_leaves_the_global_rng_alone():
    model = small_cnn()
    state = torch.get_rng_state()
    first = directions.random(model, 2, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first.vectors, directions.random(model, 2, seed=7).vectors)
    assert not torch.equal(first.vectors, directions.random(model, 2, seed=8).vectors)
    assert not torch.equal(first.vectors[0], first.vectors[1])
    assert first.describe()["seed"] == 7 and first.kind == "random"


def test_random_accepts_an_objective_with_layout_and_origin():
    # Any Objective (the contract, not a duck) with a layout and an origin of its own.
    model = small_cnn()

    class Weights(ll.Objective):
        name, n_params = "weights", ParamLayout.of(model).n_params
        layout = ParamLayout.of(model)
        origin = model_vector(model)

        def __call__(self, params):
            return params.sum(-1)

    assert torch.equal(
        directions.random(Weights(), seed=1).vectors, directions.random(model, seed=1).vectors
    )


def test_directions_index_to_copies():
    model = small_cnn()
    found = directions.random(model, 2)
    first = found[0]
    first["4.weight"].fill_(123.0)
    assert not torch.equal(found[0]["4.weight"], first["4.weight"])
    assert [list(d) for d in found[0:2]] == [list(first)] * 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalization": "filterwise"}, "normalization == 'filterwise'"),
        ({"ignore": "bias"}, "ignore == 'bias'"),
        ({"seed": -1}, "seed == -1"),
        ({"n": 0}, "n == 0"),
    ],
)
def test_random_rejects_bad_arguments(kwargs, message):
    with pytest.raises(LosslabError, match=message):
        directions.random(small_cnn(), **kwargs)


# -- PCA ----------------------------------------------------------------------------------------


def plane_trajectory(n_points=40, n_params=30, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in a 2-D affine plane with very different spreads along its two axes."""
    generator = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(n_params, 2, generator=generator, dtype=torch.float64))
    t = torch.linspace(0, 1, n_points, dtype=torch.float64)
    coefficients = torch.stack([5 * t, torch.sin(7 * t)], dim=1)
    start = torch.randn(n_params, generator=generator, dtype=torch.float64)
    return start + coefficients @ basis.T, basis


def test_pca_matches_scikit_learn_on_the_trajectory_relative_to_its_final_point():
    points, _ = plane_trajectory()
    noise = 1e-3 * torch.randn(points.shape, generator=torch.Generator().manual_seed(1))
    points = points + noise.double()
    found = directions.pca(points, 2)
    oracle = PCA(n_components=2, svd_solver="full").fit((points[:-1] - points[-1]).numpy())
    assert np.allclose(found.vectors.numpy(), oracle.components_, atol=1e-9)
    assert np.allclose(found.explained_variance, oracle.explained_variance_ratio_, atol=1e-12)
    assert torch.equal(found.origin, points[-1])


def test_pca_directions_are_orthonormal_and_signed_deterministically():
    points, basis = plane_trajectory()
    found = directions.pca(points, 2)
    assert torch.allclose(found.vectors @ found.vectors.T, torch.eye(2, dtype=torch.float64))
    largest = found.vectors.gather(1, found.vectors.abs().argmax(dim=1, keepdim=True))
    assert (largest > 0).all()
    # Mirrored trajectories have mirrored singular vectors; the sign rule undoes that.
    assert torch.allclose(directions.pca(-points, 2).vectors, found.vectors, atol=1e-12)
    # The directions span the trajectory's plane.
    assert torch.allclose(found.vectors @ basis @ basis.T, found.vectors, atol=1e-10)


def test_pca_of_points_on_a_line_explains_everything_with_one_direction():
    line = torch.tensor([3.0, -4.0, 0.0, 12.0], dtype=torch.float64)  # norm 13
    points = torch.linspace(-2, 1, 15, dtype=torch.float64)[:, None] * line + 1.0
    found = directions.pca(points, 1)
    assert found.explained_variance[0] == pytest.approx(1.0, abs=1e-12)
    assert torch.allclose(found.vectors[0], line / 13, atol=1e-12)  # 12/13 is largest: positive
    with pytest.raises(LosslabError, match="spans only 1 direction"):
        directions.pca(points, 2)


def test_uncentred_pca_uses_displacements_from_the_final_point():
    points, _ = plane_trajectory(seed=3)
    found = directions.pca(points, 2, center=False)
    matrix = (points[:-1] - points[-1]).numpy()
    _, s, vt = np.linalg.svd(matrix, full_matrices=False)
    signs = np.sign(vt[np.arange(2), np.abs(vt[:2]).argmax(axis=1)])
    assert np.allclose(found.vectors.numpy(), vt[:2] * signs[:, None], atol=1e-10)
    assert np.allclose(found.explained_variance, s[:2] ** 2 / (s**2).sum(), atol=1e-12)


def test_pca_in_column_blocks_equals_pca_in_one_block(monkeypatch):
    points, _ = plane_trajectory(n_params=50)
    whole = directions.pca(points, 2)
    monkeypatch.setattr(directions, "PCA_BLOCK", 7)
    blocked = directions.pca(points, 2)
    assert torch.allclose(blocked.vectors, whole.vectors, atol=1e-12)


def test_pca_takes_a_run_with_params_and_layout():
    model = small_cnn(dtype=torch.float64)
    layout = ParamLayout.of(model)
    points, _ = plane_trajectory(n_params=layout.n_params)

    class Run:
        params = points

    Run.layout = layout
    found = directions.pca(Run(), 2)
    assert found.layout == layout and list(found[0]) == list(layout.names)


def test_pca_rejects_batched_runs_and_short_trajectories():
    with pytest.raises(LosslabError, match=r"\(T, n_params\)"):
        directions.pca(torch.zeros(5, 3, 4))
    with pytest.raises(LosslabError, match="has 3 points"):
        directions.pca(torch.randn(3, 10))


# -- toward, plane, custom ----------------------------------------------------------------------


def test_toward_and_plane_reach_the_models_exactly():
    a, b, c = (small_cnn(seed) for seed in (0, 1, 2))  # float32 models
    va, vb, vc = (model_vector(m).double() for m in (a, b, c))
    line = directions.toward(a, b)
    assert line.kind == "toward" and len(line) == 1
    assert torch.equal(line.origin, va) and torch.equal(line.origin + 1.0 * line.vectors[0], vb)
    flat = directions.plane(a, b, c)
    assert torch.equal(
        flat.origin + torch.tensor([1.0, 0.0], dtype=torch.float64) @ flat.vectors, vb
    )
    assert torch.equal(
        flat.origin + torch.tensor([0.0, 1.0], dtype=torch.float64) @ flat.vectors, vc
    )
    # Dicts and vectors are as good as models.
    as_dicts = directions.plane(dict(a.named_parameters()), vb, dict(c.named_parameters()))
    assert torch.equal(as_dicts.vectors, flat.vectors)


def test_mismatched_models_are_refused_with_the_difference():
    other = nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 2))
    with pytest.raises(LosslabError, match="model_b does not match model_a.*missing"):
        directions.toward(small_cnn(), other)
    wrong = {k: v for k, v in small_cnn().named_parameters()}
    wrong["4.weight"] = torch.zeros(5, 13)
    with pytest.raises(LosslabError, match=r"'4.weight' has shape \(5, 13\)"):
        directions.toward(small_cnn(), wrong)
    with pytest.raises(LosslabError, match="lie on one line"):
        directions.plane(torch.zeros(3), torch.ones(3), 2 * torch.ones(3))


def test_custom_directions_from_dicts():
    model = small_cnn()
    dicts = [{n: torch.ones_like(p) for n, p in model.named_parameters()}]
    found = directions.custom(dicts, model)
    assert found.kind == "custom" and torch.equal(
        found.vectors, torch.ones(1, found.n_params).double()
    )
    with pytest.raises(LosslabError, match="direction 0 does not match"):
        directions.custom([{"x": torch.ones(3)}], model)
