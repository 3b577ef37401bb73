"""The bowl against the mountains: both surfaces computed by the library, one convex, one not.

Oracles: the loss evaluated directly on the model at a grid point (a plain loop over a few
points, the weights put in with vector_to_parameters), numpy's least squares for the bowl's
minimum, and a second call with the same seed.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import vector_to_parameters

import losslab as ll
from losslab import contrast
from losslab.data import load_dataset
from losslab.errors import LosslabError

RESOLUTION = 21  # the tests' grid: the share at 21 is within a few points of the one at 41
SEED = 0


@pytest.fixture(scope="module")
def pair() -> ll.Contrast:
    return ll.bowl_and_mountains(RESOLUTION, seed=SEED)


def _points(landscape, cells):
    """Parameter vectors (float64) at grid cells [(i, j), ...]: origin + a d0 + b d1."""
    for i, j in cells:
        a, b = landscape.coords[0][i], landscape.coords[1][j]
        yield i, j, landscape.origin + a * landscape.directions[0] + b * landscape.directions[1]


CELLS = [(0, 0), (3, 17), (10, 10), (20, 6)]


def test_the_bowl_is_convex_and_the_mountains_are_not(pair):
    assert pair.bowl.shape == pair.mountains.shape == (RESOLUTION, RESOLUTION)
    assert pair.bowl_share == 0.0
    assert pair.mountains_share >= 0.3
    assert pair.mountains_share == ll.landscapes.convexity.landscape_nonconvex_share(pair.mountains)


def test_bowl_values_are_the_mse_of_the_linear_model_at_those_weights(pair):
    X, y = (t.double().numpy() for t in load_dataset("linear", seed=SEED).train)
    for i, j, w in _points(pair.bowl, CELLS):
        assert w == pytest.approx([pair.bowl.coords[0][i], pair.bowl.coords[1][j]])
        expected = float(np.mean((X @ w - y) ** 2))
        assert pair.bowl.values["loss"][i, j] == pytest.approx(expected, rel=1e-5)


def test_mountain_values_are_the_network_cross_entropy_at_those_weights(pair):
    data = load_dataset("digits", seed=SEED)
    X, y = data.train
    net = contrast.mountains_network(data, seed=SEED)  # the architecture; weights replaced
    for i, j, point in _points(pair.mountains, CELLS):
        vector_to_parameters(torch.as_tensor(point, dtype=torch.float32), net.parameters())
        with torch.no_grad():
            expected = float(F.cross_entropy(net(X), y))
        assert pair.mountains.values["loss"][i, j] == pytest.approx(expected, rel=1e-4)


def test_the_bowl_bottom_is_the_least_squares_solution_within_a_grid_cell(pair):
    X, y = (t.double().numpy() for t in load_dataset("linear", seed=SEED).train)
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    assert pair.solution == pytest.approx(solution, abs=1e-5)
    i, j = np.unravel_index(np.argmin(pair.bowl.values["loss"]), pair.bowl.shape)
    cells = [np.diff(c[:2])[0] for c in pair.bowl.coords]
    assert abs(pair.bowl.coords[0][i] - solution[0]) <= cells[0]
    assert abs(pair.bowl.coords[1][j] - solution[1]) <= cells[1]


def test_the_same_seed_gives_the_same_surfaces(pair):
    again = ll.bowl_and_mountains(RESOLUTION, seed=SEED)
    for name in ("bowl", "mountains"):
        first, second = getattr(pair, name), getattr(again, name)
        assert np.array_equal(first.values["loss"], second.values["loss"])
        assert np.array_equal(first.directions, second.directions)
    assert again.mountains_share == pair.mountains_share


@pytest.mark.parametrize("resolution", [1, 4, 202, 2.5, True])
def test_a_resolution_out_of_range_is_refused_in_one_line(resolution):
    with pytest.raises(LosslabError, match="resolution") as error:
        ll.bowl_and_mountains(resolution)
    assert "\n" not in str(error.value)
