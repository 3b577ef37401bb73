"""The bowl against the mountains: the two loss surfaces the first lesson opens on.

    c = ll.bowl_and_mountains()           # about 2-4 s at 41 x 41 on one CPU core
    c.bowl, c.mountains                   # 2-D Landscapes, values["loss"] (41, 41)
    c.bowl_share, c.mountains_share       # 0.0 and about 0.7: the non-convex share of each

- The bowl: linear regression's mean squared error on the "linear" data set, in its raw weights
  (w1, w2), around the normal-equation solution. A quadratic in w: convex everywhere.
- The mountains: a deep, narrow tanh network (16 hidden layers of 16, no skip connections) on
  the 8x8 digits, trained briefly, seen through two filter-normalized random directions around
  its trained weights (Li et al. 2018). Its weights start larger than PyTorch's default
  (std 1.5 / sqrt(fan_in), biases std 0.3), where deep tanh networks are chaotic (Poole et al.
  2016): a small move of the weights reshapes the whole function, and the slice is a crumpled
  terrain of ridges and pits around one crater. A ReLU MLP of the same shape gives a smooth
  funnel (its non-convex share is 0.2-0.3 and it looks like a bent bowl), see `MOUNTAINS`.

Both surfaces are computed by the library (`losslab.landscape` of a `ModelObjective`), never
drawn from a formula; the shares are `losslab.landscapes.convexity.nonconvex_share` of each loss.
`raw_window` and `raw_slice` are the identity slice of a 2-weight model, shared with the web
lab's convex lessons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from losslab._checks import check_seed
from losslab.data import load_dataset
from losslab.directions import random as random_directions
from losslab.errors import LosslabError
from losslab.landscapes import Landscape, landscape
from losslab.landscapes.convexity import landscape_nonconvex_share
from losslab.models import build, mlp, normal_equation
from losslab.objectives import ModelObjective
from losslab.training import train

BOWL_DATA = "linear"
BOWL_HALF_WIDTH = 3.0  # the raw-weight window: the solution +- this much on each axis
MOUNTAINS_DATA = "digits"
# The network and its training, chosen by looking (see the module docstring and the closing
# note of issue 15): every entry moves the share and the look.
MOUNTAINS = {
    "width": 16,
    "depth": 16,
    "activation": "tanh",
    "weight_std": 1.5,  # times 1 / sqrt(fan_in); PyTorch's default is about 0.58
    "bias_std": 0.3,
}
MOUNTAINS_TRAINING = {"optimizer": "adam", "lr": 3e-3, "epochs": 5, "batch_size": 128}
MOUNTAINS_SPAN = 1.0  # filter-normalized units: 1 moves every neuron's weights by their norm
MIN_RESOLUTION, MAX_RESOLUTION = 5, 201


@dataclass(frozen=True, eq=False)
class Contrast:
    """Two loss surfaces side by side: a convex bowl and a network's mountains.

    bowl, mountains: 2-D `Landscape`s with values["loss"] (n, n), 'ij' order. The bowl's
        coordinates are the raw weights (w1, w2); the mountains' are filter-normalized units
        along two random directions from the trained weights (coordinate 0 = trained).
    bowl_share, mountains_share: the share of each slice that curves downward in some direction
        (`nonconvex_share`): 0 for the bowl.
    solution: (2,) the normal-equation weights, the bowl's minimum.
    *_title: a short name of each surface; *_description: one or two sentences on what it is.
    """

    bowl: Landscape
    mountains: Landscape
    bowl_share: float
    mountains_share: float
    solution: np.ndarray
    bowl_title: str
    mountains_title: str
    bowl_description: str
    mountains_description: str


def bowl_and_mountains(resolution: int = 41, *, seed: int = 0) -> Contrast:
    """The bowl of linear regression and the mountains of a deep tanh network, each on a
    `resolution` x `resolution` grid. seed: draws the data sets, the network's initial weights,
    its minibatches and the slice's directions; the same seed gives the same surfaces."""
    if isinstance(resolution, bool) or not isinstance(resolution, int):
        raise LosslabError(f"resolution == {resolution!r}: must be a whole number.")
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise LosslabError(
            f"resolution == {resolution}: must be in [{MIN_RESOLUTION}, {MAX_RESOLUTION}]."
        )
    seed = check_seed(seed)
    bowl, solution = linear_bowl(resolution, seed=seed)
    mountains = network_mountains(resolution, seed=seed)
    bowl_share = landscape_nonconvex_share(bowl)
    mountains_share = landscape_nonconvex_share(mountains)
    n_params = mountains.directions.shape[1]
    return Contrast(
        bowl=bowl,
        mountains=mountains,
        bowl_share=bowl_share,
        mountains_share=mountains_share,
        solution=solution,
        bowl_title="Linear regression: a convex bowl",
        mountains_title=f"A {MOUNTAINS['depth']}-layer network: mountains",
        bowl_description=(
            "The mean squared error of x @ w on the 'linear' data set, in its two raw weights "
            "(w1, w2). A quadratic in w: one minimum, the normal-equation solution, and every "
            "path downhill leads to it."
        ),
        mountains_description=(
            f"The cross-entropy of a {MOUNTAINS['activation']} network with {MOUNTAINS['depth']} "
            f"hidden layers of {MOUNTAINS['width']} ({n_params} weights, no skip connections) on "
            "the 8x8 digits, on a plane through its trained weights along two "
            "filter-normalized random directions (Li et al. 2018): ridges, pits and passes."
        ),
    )


# -- the bowl -----------------------------------------------------------------------------------


def linear_bowl(resolution: int = 41, *, seed: int = 0) -> tuple[Landscape, np.ndarray]:
    """The MSE of the linear model on the "linear" set in raw (w1, w2), solution +-
    BOWL_HALF_WIDTH, and the normal-equation solution (2,)."""
    data = load_dataset(BOWL_DATA, seed=seed)
    model = build("linear_regression", data, seed=seed)
    solution = normal_equation(*data.train).double().numpy()
    objective = ModelObjective(model, "mse", data.train)
    bowl = raw_slice(
        objective,
        raw_window(solution),
        resolution,
        title="Linear regression (MSE) on 'linear', raw weights",
    )
    return bowl, solution


def raw_window(centre, include=None, half_width: float = BOWL_HALF_WIDTH) -> np.ndarray:
    """(2, 2) [lo, hi] per axis: centre (2,) +- half_width, widened to hold the point
    `include` (2,) with half a unit to spare (a training path's start)."""
    centre = np.asarray(centre, dtype=np.float64)
    lo, hi = centre - half_width, centre + half_width
    if include is not None:
        include = np.asarray(include, dtype=np.float64)
        lo, hi = np.minimum(lo, include - 0.5), np.maximum(hi, include + 0.5)
    return np.stack([lo, hi], axis=1)


def raw_slice(
    objective: ModelObjective, window, resolution: int = 41, *, title: str | None = None
) -> Landscape:
    """The loss of a 2-weight model on its identity slice (the coordinates ARE the two weights)
    over window (2, 2) [lo, hi] per axis."""
    window = np.asarray(window, dtype=np.float64)
    return landscape(
        objective,
        span=[tuple(window[0]), tuple(window[1])],
        resolution=resolution,
        metrics=["loss"],
        metadata=None if title is None else {"title": title},
    )


# -- the mountains ------------------------------------------------------------------------------


def mountains_network(data=None, *, seed: int = 0) -> nn.Module:
    """The untrained network of the mountains, drawn with `seed`: (N, 64) -> (N, 10) logits,
    MOUNTAINS["depth"] tanh layers of MOUNTAINS["width"], weights N(0, weight_std^2 / fan_in),
    biases N(0, bias_std^2). data: the digits Dataset (default: loaded with `seed`)."""
    data = load_dataset(MOUNTAINS_DATA, seed=seed) if data is None else data
    hidden = (MOUNTAINS["width"],) * MOUNTAINS["depth"]
    with torch.random.fork_rng(devices=[]):  # the caller's generator is left as it was
        torch.default_generator.manual_seed(seed)
        net = mlp(data.n_features, data.n_classes, hidden, activation=MOUNTAINS["activation"])
        with torch.no_grad():
            for module in net:
                if isinstance(module, nn.Linear):
                    fan_in = module.weight.shape[1]
                    module.weight.normal_(0.0, MOUNTAINS["weight_std"] / fan_in**0.5)
                    module.bias.normal_(0.0, MOUNTAINS["bias_std"])
    return net


def network_mountains(resolution: int = 41, *, seed: int = 0) -> Landscape:
    """The trained network's cross-entropy on the plane through its final weights along two
    filter-normalized random directions (drawn with `seed`), +- MOUNTAINS_SPAN."""
    data = load_dataset(MOUNTAINS_DATA, seed=seed)
    model = mountains_network(data, seed=seed)
    run = train(model, data, seed=seed, record_every=10**9, **MOUNTAINS_TRAINING)  # in place
    objective = ModelObjective(model, "cross_entropy", data.train)  # origin: trained weights
    plane = random_directions(objective, 2, normalization="filter", seed=seed)
    return landscape(
        objective,
        plane,
        span=MOUNTAINS_SPAN,
        resolution=resolution,
        metrics=["loss"],
        metadata={
            "title": f"{MOUNTAINS['depth']}-layer tanh network on digits, random plane",
            "final_train_loss": float(run.train_loss[-1]),
        },
    )
