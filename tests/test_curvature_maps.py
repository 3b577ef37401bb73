"""Curvature maps, sharpness and Hessian directions against closed forms and exact Hessians."""

from __future__ import annotations

import pytest
import torch
from curvature_helpers import exact_hessian, network, quadratic

import losslab as ll
from losslab import curvature
from losslab import directions as directions_lib
from losslab.errors import LosslabError

# Tiny tensors: one intra-op thread (extra threads only spin against other processes).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    """A network small enough (43 parameters) for exact Hessians at every grid point."""
    model, objective = network(width=3, n_samples=24)
    return model, objective


# -- curvature maps -----------------------------------------------------------------------------


def test_surface_maps_equal_the_closed_form():
    stretched = curvature.curvature_map(ll.surface("stretched_bowl", condition=4.0), resolution=5)
    assert stretched.exact and stretched.ratio.shape == (5, 5)
    torch.testing.assert_close(stretched.ratio, torch.full((5, 5), 0.25, dtype=torch.float64))
    saddle = curvature.curvature_map(ll.surface("saddle"), resolution=4)
    torch.testing.assert_close(saddle.ratio, torch.ones(4, 4, dtype=torch.float64))
    # Himmelblau: the map over its window against inspect() (exact eigenvalues) point by point.
    surface = ll.surface("himmelblau")
    result = curvature.curvature_map(surface, resolution=4)
    bounds = surface.bounds
    torch.testing.assert_close(result.coords[0], torch.linspace(*bounds[0].tolist(), 4).double())
    for i, a in enumerate(result.coords[0]):
        for j, b in enumerate(result.coords[1]):
            values = ll.inspect(surface, [float(a), float(b)]).eigenvalues
            assert float(result.lambda_max[i, j]) == pytest.approx(float(values[-1]))
            assert float(result.lambda_min[i, j]) == pytest.approx(float(values[0]))
            assert float(result.ratio[i, j]) == pytest.approx(abs(float(values[0] / values[-1])))


def test_an_explicit_span_of_1_is_honoured_on_a_surface_window():
    # span=1.0 used to mean "not given" and silently became Himmelblau's +-5 window.
    himmelblau = ll.surface("himmelblau")
    given = curvature.curvature_map(himmelblau, span=1.0, resolution=3)
    for axis in given.coords:
        torch.testing.assert_close(axis, torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64))
    window = curvature.curvature_map(himmelblau, resolution=3)
    torch.testing.assert_close(window.coords[0], torch.tensor([-5.0, 0.0, 5.0]).double())
    around = curvature.curvature_map(himmelblau, origin=[3.0, 2.0], resolution=3)
    torch.testing.assert_close(around.coords[1], torch.tensor([-1.0, 0.0, 1.0]).double())
    torch.testing.assert_close(around.origin, torch.tensor([3.0, 2.0]).double())
    with pytest.raises(LosslabError, match="span == 0"):
        curvature.curvature_map(himmelblau, span=0)


def test_network_maps_by_lanczos_match_exact_hessians_on_the_grid(tiny):
    _, objective = tiny
    dirs = directions_lib.random(objective, seed=1)
    exact = curvature.curvature_map(objective, dirs, span=0.5, resolution=3)
    assert exact.exact  # 43 parameters: exact by default
    lanczos = curvature.curvature_map(
        objective, dirs, span=0.5, resolution=3, n_steps=objective.n_params, exact=False
    )
    assert not lanczos.exact and lanczos.n_steps == objective.n_params
    torch.testing.assert_close(lanczos.lambda_max, exact.lambda_max, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(lanczos.lambda_min, exact.lambda_min, rtol=1e-8, atol=1e-10)
    # The centre of the grid is the objective's own point.
    centre = torch.linalg.eigvalsh(exact_hessian(objective))
    assert float(exact.lambda_max[1, 1]) == pytest.approx(float(centre[-1]), rel=1e-9)
    # Few steps: Ritz values lie inside the spectrum.
    rough = curvature.curvature_map(objective, dirs, span=0.5, resolution=3, n_steps=4, exact=False)
    assert torch.all(rough.lambda_max <= exact.lambda_max + 1e-12)
    assert torch.all(rough.lambda_min >= exact.lambda_min - 1e-12)
    loaded = curvature.CurvatureMap.from_dict(exact.to_dict())
    assert torch.equal(loaded.ratio, exact.ratio) and loaded.coords[1].shape == (3,)


def test_a_computed_landscape_gives_its_grid(tiny):
    _, objective = tiny
    dirs = directions_lib.random(objective, seed=2)
    land = ll.landscape(objective, dirs, span=0.3, resolution=3)
    result = curvature.curvature_map(objective, land)
    for mine, theirs in zip(result.coords, land.coords, strict=True):
        torch.testing.assert_close(mine, torch.as_tensor(theirs))
    with pytest.raises(LosslabError, match="two directions"):
        curvature.curvature_map(objective, dirs.vectors[:1])


# -- sharpness ----------------------------------------------------------------------------------


def test_epsilon_sharpness_of_a_quadratic_is_half_eps_squared_lambda_max():
    objective = quadratic(30)
    lam = float(torch.linalg.eigvalsh(objective.matrix)[-1])
    at = torch.zeros(30, dtype=torch.float64)
    for epsilon in (0.1, 0.5):
        result = curvature.epsilon_sharpness(objective, epsilon, at=at)
        assert result.increase == pytest.approx(0.5 * epsilon**2 * lam, rel=1e-9)
        assert float(result.perturbation.norm()) == pytest.approx(epsilon)
    stretched = ll.surface("stretched_bowl", condition=10.0)
    result = curvature.epsilon_sharpness(stretched, 0.2, at=[0.0, 0.0])
    assert result.increase == pytest.approx(0.5 * 0.2**2 * 20.0, rel=1e-12)


def test_ascent_beats_the_second_order_guess_off_a_minimum(tiny):
    _, objective = tiny
    result = curvature.epsilon_sharpness(objective, 0.3)
    top = curvature.eigenvalues(objective, k=1).vectors[0]
    loss = float(objective(objective.origin))
    guess = max(float(objective(objective.origin + s * 0.3 * top)) for s in (1.0, -1.0)) - loss
    assert result.increase >= guess - 1e-12 and result.loss == pytest.approx(loss)
    assert float(result.perturbation.norm()) <= 0.3 * (1 + 1e-9)
    assert result.relative == pytest.approx(result.increase / (1 + loss))


def test_sharpness_collects_the_three_figures(tiny):
    _, objective = tiny
    hessian = exact_hessian(objective)
    figures = curvature.sharpness(objective, epsilon=0.05, n_probes=150)
    assert figures.lambda_max == pytest.approx(float(torch.linalg.eigvalsh(hessian)[-1]), rel=1e-4)
    assert figures.trace == pytest.approx(float(hessian.trace()), abs=1e-8)  # sketch of 50 >= 43
    assert figures.epsilon_sharpness > 0


# -- Hessian directions -------------------------------------------------------------------------


def test_hessian_directions_are_the_orthonormal_top_eigenvectors():
    model, objective = network()
    dirs = curvature.hessian_directions(objective, n=2)
    assert dirs.kind == "hessian" and len(dirs) == 2
    gram = dirs.vectors @ dirs.vectors.T
    torch.testing.assert_close(gram, torch.eye(2, dtype=torch.float64), atol=1e-10, rtol=0)
    top = curvature.eigenvalues(objective, k=2)
    assert torch.equal(dirs.vectors, top.vectors)
    torch.testing.assert_close(dirs.origin, objective.origin)
    # The same from the model with its loss and data; a dict per direction, like the model's.
    x, y = objective._x, objective._y
    from_model = curvature.hessian_directions(model, loss_fn="cross_entropy", data=(x, y))
    torch.testing.assert_close(from_model.vectors, dirs.vectors)
    assert set(from_model[0]) == set(objective.layout.names)
    # One layer: zero on every other parameter.
    layer = curvature.hessian_directions(objective, params="2.weight")
    offsets = objective.layout.offsets()["2.weight"]
    outside = torch.cat([layer.vectors[:, : offsets.start], layer.vectors[:, offsets.stop :]], 1)
    assert float(outside.abs().max()) == 0.0
    with pytest.raises(LosslabError, match="loss_fn"):
        curvature.hessian_directions(model)
