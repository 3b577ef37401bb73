"""Basin maps: labels agree with single runs; vectorized over the whole grid."""

import pytest
import torch

import losslab as ll
from losslab import optim
from losslab.attraction import DIVERGED, NO_MINIMUM


def test_himmelblau_basins_cover_all_four_minima_and_agree_with_single_runs():
    surface = ll.surface("himmelblau")
    basin_map = ll.basins(surface, optim.gd(0.01), resolution=25, n_steps=400)
    assert basin_map.labels.shape == (25, 25)
    assert set(basin_map.labels.unique().tolist()) == {0, 1, 2, 3}
    assert abs(sum(basin_map.fractions().values()) - 1) < 1e-12
    for i, j in [(0, 0), (3, 20), (24, 24), (12, 12), (20, 5)]:
        start = torch.stack([basin_map.coords[0][i], basin_map.coords[1][j]])
        end = ll.descend(surface, optim.gd(0.01), start, 400).params[-1]
        nearest = torch.cdist(end[None], surface.minima).argmin().item()
        assert basin_map.labels[i, j].item() == nearest
        torch.testing.assert_close(basin_map.final[i, j], end)


def test_diverged_and_unknown_labels():
    surface = ll.surface("himmelblau")
    wild = ll.basins(surface, optim.gd(0.05), resolution=9, n_steps=50)
    assert (wild.labels == DIVERGED).any()
    short = ll.basins(surface, optim.gd(1e-6), resolution=9, n_steps=2)
    # Two tiny steps barely move: a start is labelled only if it began next to a minimum.
    starts = torch.stack(torch.meshgrid(*short.coords, indexing="ij"), -1).reshape(-1, 2)
    near = torch.cdist(starts, surface.minima).min(1).values <= short.radius * 0.99
    far = torch.cdist(starts, surface.minima).min(1).values > short.radius * 1.01
    assert (short.labels.flatten()[far] == NO_MINIMUM).all() and far.any()
    assert (short.labels.flatten()[near] >= 0).all()


def test_expression_without_known_minima_uses_the_critical_points():
    basin_map = ll.basins(
        ll.surface("(x**2 - 1)**2 + y**2"),
        optim.gd(0.05),
        resolution=11,
        n_steps=300,
        bounds=[[-2, 2], [-1, 1]],
    )
    assert len(basin_map.minima) == 2
    left, right = basin_map.labels[0, 5].item(), basin_map.labels[-1, 5].item()
    assert {left, right} == {0, 1}


def test_one_dimensional_basins():
    basin_map = ll.basins(ll.surface("double_well"), optim.gd(0.05), resolution=101, n_steps=400)
    labels = basin_map.labels
    assert labels.shape == (101,) and labels[0] == 0 and labels[-1] == 1
    assert (labels.diff() >= 0).all()  # one boundary: the maximum between the wells


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"radius": -1.0}, ll.LosslabError, r"radius == -1.0, must be a finite number > 0"),
        ({"radius": "0.1"}, TypeError, r"radius == '0.1'"),
        ({"resolution": 1}, ll.LosslabError, r"resolution == 1, must be an integer >= 2"),
    ],
)
def test_basins_refuses_bad_arguments_with_one_line(kwargs, error, message):
    with pytest.raises(error, match=message):
        ll.basins(ll.surface("bowl"), ll.optim.gd(0.1), **{"n_steps": 2, **kwargs})
