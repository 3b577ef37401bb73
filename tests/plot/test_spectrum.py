"""The log-density plot of a Spectrum: the curve it promises, on a log axis, and refusals."""

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes

from losslab.curvature import Spectrum
from losslab.errors import LosslabError
from losslab.plot import static

# Tiny tensors: one intra-op thread (extra threads only spin against other processes).
pytestmark = pytest.mark.usefixtures("one_thread")


def _spectrum() -> Spectrum:
    nodes = torch.tensor([[-0.1, 0.0, 0.2, 3.0]], dtype=torch.float64)
    weights = torch.tensor([[0.2, 0.5, 0.29, 0.01]], dtype=torch.float64)
    from losslab.curvature.density import smooth

    grid, density, sigma = smooth(nodes, weights, None, 300)
    return Spectrum(grid, density, nodes, weights, sigma, n_params=10, n_products=4, seed=0)


def test_spectrum_draws_the_density_on_a_log_axis_with_its_nodes():
    spectrum = _spectrum()
    ax = static.spectrum(spectrum)
    assert isinstance(ax, Axes) and ax.get_yscale() == "log"
    (curve,) = [line for line in ax.get_lines() if line.get_gid() == "losslab-spectrum"]
    np.testing.assert_allclose(curve.get_xdata(), spectrum.grid.numpy())
    (ticks,) = [line for line in ax.get_lines() if line.get_gid() == "losslab-nodes"]
    np.testing.assert_allclose(np.sort(ticks.get_xdata()), [-0.1, 0.0, 0.2, 3.0])
    linear = static.spectrum(spectrum, log=False, nodes=False)
    assert linear.get_yscale() == "linear" and len(linear.get_lines()) == 1


def test_spectrum_refuses_what_is_not_a_spectrum():
    with pytest.raises(LosslabError, match="Spectrum"):
        static.spectrum(object())
