import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import losslab as ll
import losslab.directions as directions
from losslab.errors import LosslabError
from losslab.landscapes import Landscape
from losslab.landscapes.compute import landscape
from losslab.objectives.model import ModelObjective


class Counted(ModelObjective):
    """The network objective, counting the calls that evaluate grid points."""

    calls = 0

    def evaluate_slice(self, origin, directions, coords):
        self.calls += 1
        return super().evaluate_slice(origin, directions, coords)


def make_objective(seed: int = 0, **options) -> Counted:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    X = torch.randn(40, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    objective = Counted(net, "cross_entropy", (X, y), **options)
    objective.net, objective.X, objective.y = net, X, y  # for the oracle
    return objective


def loop_oracle(net: nn.Module, X, y, origin, vectors, coords_grid) -> np.ndarray:
    """A plain loop: load each grid point's weights into a copy of the model, forward, loss."""
    out = np.empty(coords_grid.shape[:-1])
    for index in np.ndindex(out.shape):
        weights = torch.as_tensor(origin) + torch.as_tensor(coords_grid[index]) @ vectors
        model = copy.deepcopy(net).eval()
        torch.nn.utils.vector_to_parameters(weights.to(X.dtype), model.parameters())
        with torch.no_grad():
            out[index] = F.cross_entropy(model(X), y).item()
    return out


def test_network_landscape_equals_a_per_point_loop_with_ij_indexing():
    objective = make_objective()
    found = directions.random(objective.net, 2, seed=4)
    result = landscape(objective, found, span=[0.5, (-1.0, 0.25)], resolution=(4, 3))
    assert result.shape == (4, 3) and set(result.values) == {"loss", "accuracy"}
    assert np.allclose(result.coords[0], np.linspace(-0.5, 0.5, 4))
    assert np.allclose(result.coords[1], np.linspace(-1.0, 0.25, 3))
    grid = np.stack(np.meshgrid(*result.coords, indexing="ij"), axis=-1)
    expected = loop_oracle(
        objective.net, objective.X, objective.y, objective.origin, found.vectors, grid
    )
    assert np.allclose(result.values["loss"], expected, rtol=1e-12, atol=1e-12)
    # 'ij' by hand: values[i, j] is at coords[0][i] along d0 and coords[1][j] along d1.
    i, j = 3, 0
    single = loop_oracle(
        objective.net,
        objective.X,
        objective.y,
        objective.origin,
        found.vectors,
        np.array([[result.coords[0][i], -1.0]]),
    )
    assert result.values["loss"][i, j] == pytest.approx(single[0], rel=1e-12)
    assert np.all((result.values["accuracy"] >= 0) & (result.values["accuracy"] <= 1))
    assert result.metadata["directions"]["seed"] == 4
    assert (
        result.metadata["objective"]["model_fingerprint"]
        == objective.describe()["model_fingerprint"]
    )


def test_ij_indexing_on_an_asymmetric_plain_objective():
    class Tilted(ll.Objective):
        name, n_params = "tilted", 2

        def __call__(self, params):
            return params[..., 0] + 10 * params[..., 1]

    result = landscape(Tilted(), span=[(0, 2), (0, 4)], resolution=(3, 5))
    c0, c1 = result.coords
    assert result.values["loss"].shape == (3, 5)
    assert np.array_equal(result.values["loss"], c0[:, None] + 10 * c1[None, :])


def test_surface_identity_slice_equals_the_surface_on_its_grid():
    surface = ll.surface("himmelblau")
    result = landscape(surface, resolution=(7, 5))
    assert result.metadata["directions"]["kind"] == "identity"
    assert np.array_equal(result.origin, np.zeros(2))
    assert np.array_equal(result.directions, np.eye(2))
    # Coordinates are the raw parameters over the surface's window (0 exactly in the middle).
    assert np.array_equal(result.coords[0], np.linspace(-5, 5, 7))
    assert result.coords[0][3] == 0.0
    points = result.grid().reshape(-1, 2)
    expected = surface(torch.as_tensor(points)).numpy().reshape(7, 5)
    assert np.array_equal(result.values["loss"], expected)
    grid = ll.evaluate_grid(surface, resolution=7)  # torch.linspace: equal to rounding
    square = landscape(surface, resolution=7)
    assert np.allclose(square.values["loss"], grid.values["loss"], rtol=1e-12, atol=1e-12)


def test_surface_with_explicit_directions_starts_from_the_centre_of_its_bounds():
    surface = ll.surface("rosenbrock")
    centre = surface.bounds.mean(dim=1).numpy()
    result = landscape(surface, torch.tensor([[1.0, 1.0]]), span=2.0, resolution=9)
    assert result.shape == (9,) and np.array_equal(result.origin, centre)
    expected = surface(torch.as_tensor(centre + result.coords[0][:, None] * np.ones(2)))
    assert np.allclose(result.values["loss"], expected.numpy(), rtol=1e-14)


def test_toward_reaches_both_models_exactly():
    a, b = make_objective(0), make_objective(1)
    line = directions.toward(a.net, b.net)
    result = landscape(a, line, span=(0.0, 1.0), resolution=5, metrics=["loss"])
    assert list(result.values) == ["loss"]
    for coordinate, model in [(0, a.net), (-1, b.net)]:
        with torch.no_grad():
            direct = F.cross_entropy(model(a.X), a.y).item()
        assert result.values["loss"][coordinate] == direct


def test_project_recovers_grid_coordinates_and_measures_the_distance_to_the_plane():
    objective = make_objective()
    found = directions.random(objective.net, 2, seed=0)  # filter-normalized: not orthogonal
    cos = torch.nn.functional.cosine_similarity(found.vectors[0], found.vectors[1], dim=0)
    assert abs(float(cos)) > 1e-3
    result = landscape(objective, found, span=1.0, resolution=(5, 4), metrics=["loss"])
    grid = result.grid().reshape(-1, 2)
    coords, residual = result.project(result.parameters(grid), return_residual=True)
    assert np.allclose(coords, grid, atol=1e-12) and np.all(residual < 1e-12)
    normal = torch.randn(objective.n_params, dtype=torch.float64, generator=torch.Generator())
    normal -= found.vectors.T @ torch.linalg.lstsq(found.vectors.T, normal).solution
    off = result.parameters([0.3, -0.2]) + 2.0 * (normal / normal.norm()).numpy()
    coords, residual = result.project(off, return_residual=True)
    assert np.allclose(coords, [0.3, -0.2]) and residual == pytest.approx(2.0)


def test_argmin_and_min():
    result = landscape(ll.surface("bowl"), span=1.0, resolution=(5, 7))
    assert result.argmin() == (2, 3) and result.min() == 0.0
    assert np.array_equal(result.point(result.argmin()), [0.0, 0.0])
    with pytest.raises(LosslabError, match="metric == 'accuracy'"):
        result.argmin("accuracy")


def test_progress_chunks_and_sampled_standard_errors_are_kept():
    sampled = make_objective(n_samples=20)
    found = directions.random(sampled.net, 2, seed=0)
    seen = []
    result = landscape(
        sampled, found, resolution=(3, 3), chunk_size=4, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(0, 9), (4, 9), (8, 9), (9, 9)] and sampled.calls == 3
    assert list(result.values) == ["loss", "accuracy", "loss_se", "accuracy_se"]
    assert np.all(result.values["loss_se"] > 0)
    exact = make_objective()
    whole = landscape(exact, found, resolution=(3, 3), metrics="loss")
    assert exact.calls == 1  # the objective's own chunk size (64) holds the 9 points
    assert list(whole.values) == ["loss"]
    assert np.all(
        np.abs(whole.values["loss"] - result.values["loss"]) < 5 * result.values["loss_se"]
    )


def test_filter_normalized_slice_of_a_cnn_with_batchnorm_equals_a_per_point_loop():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 2)
    ).double()
    net(torch.randn(16, 1, 6, 6, dtype=torch.float64))  # running statistics that are not 0/1
    net.eval()
    X, y = torch.randn(30, 1, 6, 6, dtype=torch.float64), torch.randint(0, 2, (30,))
    objective = ModelObjective(net, "cross_entropy", (X, y))
    found = directions.random(net, 2, seed=2)  # biases and BatchNorm stay put (biasbn)
    result = landscape(objective, found, span=0.8, resolution=(3, 4), metrics=["loss"])
    grid = result.grid()
    expected = loop_oracle(net, X, y, objective.origin, found.vectors, grid)
    assert np.allclose(result.values["loss"], expected, rtol=1e-12, atol=1e-12)


class Counting(ll.Objective):
    """A plain objective that counts its calls (to prove that bad input does no work)."""

    name, n_params, bounds = "counting", 2, None

    def __init__(self):
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        return params.sum(-1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": 1}, "resolution == 1"),
        ({"resolution": (5,)}, r"resolution == \(5,\)"),
        ({"span": 0}, "span == 0"),
        ({"span": -1.0}, "span == -1.0"),
        ({"span": [(1.0, 0.0), 1.0]}, "lo < hi"),
        ({"directions": torch.ones(3, 2)}, "got 3 directions"),
        ({"directions": torch.ones(2, 5)}, "does not match the layout"),
        ({"directions": torch.zeros(1, 2)}, "direction 0 is all zeros"),
        ({"directions": torch.tensor([[1.0, 2.0], [2.0, 4.0]])}, "parallel"),
        ({"origin": [1.0, 2.0, 3.0]}, r"origin has shape \(3,\)"),
        ({"metrics": ["accuracy"]}, "metrics =="),
        ({"out": "result.json"}, r"must end in \.h5 or \.hdf5"),
        ({"out": "missing/result.h5"}, "does not exist"),
        ({"chunk_size": 0}, "chunk_size == 0"),
    ],
)
def test_bad_input_is_one_error_before_any_work(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    objective = Counting()
    with pytest.raises(LosslabError, match=message):
        landscape(objective, **kwargs)
    assert objective.calls == 0 and list(tmp_path.iterdir()) == []


def test_anything_but_an_objective_is_refused_with_one_line():
    class Duck:  # has what an objective has, but is not one: no contract, no probing
        name, n_params, bounds = "duck", 2, None

        def __call__(self, params):
            return params.sum(-1)

    for thing in (Duck(), lambda params: params.sum(-1)):
        with pytest.raises(LosslabError, match="must be a losslab Objective"):
            landscape(thing)


def test_directions_of_another_model_are_refused():
    objective = make_objective()
    other = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 3), nn.Linear(3, 3))
    with pytest.raises(LosslabError, match="n_params"):
        landscape(objective, directions.random(other))
    with pytest.raises(LosslabError, match="pass directions"):
        landscape(objective)
    renamed = nn.Sequential()
    renamed.add_module("first", nn.Linear(3, 6))
    renamed.add_module("act", nn.Tanh())
    renamed.add_module("second", nn.Linear(6, 3))
    with pytest.raises(LosslabError, match="another model: parameter 0 is 'first.weight'"):
        landscape(objective, directions.random(renamed))
    assert objective.calls == 0


def test_a_landscape_is_plain_data():
    result = landscape(ll.surface("saddle"), resolution=5)
    assert isinstance(result, Landscape)
    assert all(c.dtype == np.float64 for c in result.coords)
    assert result.values["loss"].dtype == np.float64 and result.directions.shape == (2, 2)
    assert result.metadata["resolution"] == [5, 5] and result.metadata["metrics"] == ["loss"]
    # evaluate_grid gives the same one grid result: the identity slice of the surface.
    grid = ll.evaluate_grid(ll.surface("saddle"), resolution=5)
    assert isinstance(grid, Landscape) and grid.metadata["directions"]["kind"] == "identity"
    assert np.array_equal(grid.origin, np.zeros(2)) and np.array_equal(grid.directions, np.eye(2))
    assert grid.metadata["objective"] == ll.surface("saddle").describe()
    assert np.array_equal(grid.values["loss"], result.values["loss"])


def test_linear_regression_landscape_is_its_closed_form_bowl_with_the_normal_equation_minimum():
    from losslab.data import load_dataset
    from losslab.models import linear_regression, normal_equation

    data = load_dataset("linear")
    X, y = (t.double() for t in data.train)
    model = linear_regression(2).double()
    objective = ModelObjective(model, "mse", (X, y))
    w_star = normal_equation(X, y)
    axes = directions.custom(list(torch.eye(2, dtype=torch.float64)), objective, kind="axes")
    # A grid in raw (w1, w2) whose centre is exactly the normal-equation solution.
    result = landscape(
        objective,
        axes,
        origin=torch.zeros(2, dtype=torch.float64),
        span=[(w - 1.5, w + 1.5) for w in w_star.tolist()],
        resolution=31,
    )
    w1, w2 = np.meshgrid(*result.coords, indexing="ij")
    W = torch.as_tensor(np.stack([w1, w2], -1))  # (31, 31, 2)
    # mean((Xw - y)^2) = w'Aw - 2b'w + c with A = X'X/N, b = X'y/N, c = y'y/N.
    n = len(X)
    A, b, c = X.T @ X / n, X.T @ y / n, y @ y / n
    closed = torch.einsum("ijk,kl,ijl->ij", W, A, W) - 2 * W @ b + c
    np.testing.assert_allclose(result.values["loss"], closed.numpy(), rtol=1e-10)
    assert result.argmin() == (15, 15)
    np.testing.assert_allclose(result.point((15, 15)), w_star.numpy(), atol=1e-12)
    # The closed form's stationary point, A w = b, is the normal-equation solution.
    torch.testing.assert_close(torch.linalg.solve(A, b), w_star)


def test_a_two_weight_model_has_an_identity_slice_in_its_raw_weights():
    from losslab.data import load_dataset
    from losslab.models import linear_regression, normal_equation

    data = load_dataset("linear")
    model = linear_regression(2).double()
    X, y = (t.double() for t in data.train)
    w_star = normal_equation(X, y)
    with torch.no_grad():
        model[0].weight.copy_(w_star[None])
    objective = ModelObjective(model, "mse", (X, y))
    result = landscape(objective, resolution=21)  # no directions: w1, w2 themselves
    ends = [(c[0], c[-1]) for c in result.coords]
    np.testing.assert_allclose(ends, [(w - 1, w + 1) for w in w_star.tolist()])
    assert result.argmin() == (10, 10)
    np.testing.assert_allclose(result.point((10, 10)), w_star.numpy(), atol=1e-12)
    wider = landscape(objective, span=2.0, resolution=5)
    ends = [(c[0], c[-1]) for c in wider.coords]
    np.testing.assert_allclose(ends, [(w - 2, w + 2) for w in w_star.tolist()])
