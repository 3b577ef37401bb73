"""What the symmetry page's first part computes: the moons network of the neural page (width 8,
seed 0), the same network with some of its hidden neurons swapped, and how the two compare.

The browser keeps the swaps a learner made, in order, as position swaps ([layer, i, j]: the
neurons at positions i and j of hidden layer `layer` trade places, each with its incoming
weights and bias and its outgoing weights). `Swaps.orders` composes them into one order per
hidden layer (position i of the swapped network holds neuron order[i] of the trained one),
which is a `losslab.symmetry.Permutation` of the network; `losslab.symmetry.permute` builds the
swapped network from it. Everything here is a pure function of the swaps; the trained network
is memoized (losslab.web.networks), the swapped one is rebuilt per request (it is tiny).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.models import build
from losslab.symmetry import (
    Permutation,
    from_groups,
    parameter_distance,
    permutation_groups,
    permute,
)
from losslab.web import networks

WIDTH = 8  # the neural page's default network: 2 -> 8 -> 8 -> 2, 114 weights
SEED = 0
N_HIDDEN = networks.DEPTH  # hidden layers; layer 0 is the input, N_HIDDEN + 1 the output
MAX_SWAPS = 100  # swaps the browser may send back (each is 3 small numbers)
GRID = 80  # points a side of the decision-boundary grid
GRID_MARGIN = 0.5  # the grid reaches this far beyond the data on each side
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@functools.lru_cache(maxsize=8)
def trained_model(width: int, seed: int) -> nn.Module:
    """The moons MLP of `networks.trained_network(width, seed)` holding its trained weights,
    in eval mode. Shared by every request: never change it (permute returns a new model)."""
    run, _ = networks.trained_network(width, seed)
    data = load_dataset(networks.NETWORK_DATA, seed=0)
    model = networks.seeded(build, "mlp", data, width=width, depth=networks.DEPTH, seed=seed)
    model.load_state_dict(run.param_dict(-1), strict=False)
    return model.eval()


def hidden_sizes(model: nn.Module) -> tuple[int, ...]:
    """(n_inputs, hidden widths..., n_outputs) of an MLP: the diagram's columns."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    return (linears[0].in_features, *(m.out_features for m in linears))


def label(layer: int, index: int, width: int = WIDTH) -> str:
    """A hidden neuron's name, which travels with it when it moves: A-H in layer 1, I-P in 2."""
    return LETTERS[((layer - 1) * width + index) % len(LETTERS)]


def layer_name(layer: int) -> str:
    if layer == 0:
        return "the input layer"
    if layer == N_HIDDEN + 1:
        return "the output layer"
    return f"hidden layer {layer}"


@dataclass(frozen=True)
class Swaps:
    """The learner's swaps, validated: ((layer, i, j), ...) in the order made, with layer in
    1..N_HIDDEN and i != j positions in [0, width)."""

    moves: tuple[tuple[int, int, int], ...] = ()
    width: int = WIDTH

    def __post_init__(self) -> None:
        if len(self.moves) > MAX_SWAPS:
            raise LosslabError(
                f"{len(self.moves)} swaps: this page keeps at most {MAX_SWAPS}; press Reset."
            )
        for move in self.moves:
            ok = (
                len(move) == 3
                and all(isinstance(v, int) and not isinstance(v, bool) for v in move)
                and 1 <= move[0] <= N_HIDDEN
                and all(0 <= v < self.width for v in move[1:])
                and move[1] != move[2]
            )
            if not ok:
                raise LosslabError("the page state is damaged: press Reset or reload the page.")

    @classmethod
    def from_json(cls, value, width: int = WIDTH) -> Swaps:
        """Swaps sent back by the browser ([[layer, i, j], ...]): checked again."""
        if value is None:
            return cls((), width)
        if not isinstance(value, list):
            raise LosslabError("the page state is damaged: press Reset or reload the page.")
        moves = tuple(tuple(m) if isinstance(m, list) else (None,) for m in value)
        return cls(moves, width)  # type: ignore[arg-type]

    def to_json(self) -> list[list[int]]:
        return [list(move) for move in self.moves]

    def then(self, layer: int, i: int, j: int) -> Swaps:
        return replace(self, moves=(*self.moves, (layer, i, j)))

    def orders(self) -> tuple[np.ndarray, ...]:
        """One (width,) int64 order per hidden layer: position p of the swapped network holds
        neuron order[p] of the trained one. Swapping positions i and j of the current network
        swaps entries i and j of the order (unit p now is what unit swap(p) was)."""
        orders = [np.arange(self.width) for _ in range(N_HIDDEN)]
        for layer, i, j in self.moves:
            order = orders[layer - 1]
            order[[i, j]] = order[[j, i]]
        return tuple(orders)


def permutation(model: nn.Module, swaps: Swaps) -> Permutation:
    """The swaps as a `Permutation` of `model`: its groups are the hidden layers, in order."""
    groups = permutation_groups(model)
    orders = swaps.orders()
    if [g.size for g in groups] != [len(order) for order in orders]:
        raise LosslabError(
            f"the network's permutable groups have {[g.size for g in groups]} units, the page "
            f"expects {len(orders)} hidden layers of {swaps.width}."
        )
    return from_groups(groups, tuple(torch.as_tensor(order) for order in orders))


def swapped_model(swaps: Swaps) -> nn.Module:
    """The page's network after `swaps` (a new model; the trained one when there are none)."""
    model = trained_model(swaps.width, SEED)
    if not swaps.moves:
        return model
    return permute(model, permutation(model, swaps)).eval()


@dataclass(frozen=True, eq=False)
class Comparison:
    """The trained network against the swapped one.

    model, swapped: the two networks. grid_x, grid_y: (GRID,) the boundary grid's axes;
    margin, swapped_margin: (GRID, GRID) logit(class 1) - logit(class 0) of each on the grid,
    'xy' order (rows are y); max_difference: the largest |difference| of any output of the two
    on the training points and the grid; distance: ||theta' - theta||; norm: ||theta||;
    disagree: training points the two classify differently; loss: training loss of the trained
    network; accuracy: its training accuracy.
    """

    model: nn.Module
    swapped: nn.Module
    grid_x: np.ndarray
    grid_y: np.ndarray
    margin: np.ndarray
    swapped_margin: np.ndarray
    max_difference: float
    distance: float
    norm: float
    disagree: int
    loss: float
    accuracy: float

    @property
    def relative_distance(self) -> float:
        return self.distance / self.norm if self.norm > 0 else 0.0


def compare(swaps: Swaps) -> Comparison:
    """The trained network and the network after `swaps`, on the moons and a grid around them."""
    model = trained_model(swaps.width, SEED)
    swapped = swapped_model(swaps)
    X, y = training_points()
    gx, gy = grid_axes()
    xx, yy = np.meshgrid(gx, gy)  # (GRID, GRID), rows are y
    grid = torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], axis=1), dtype=X.dtype)
    points = torch.cat([X, grid])
    with torch.no_grad():
        out, out_swapped = model(points), swapped(points)
    n = len(X)
    loss = float(nn.functional.cross_entropy(out[:n], y))
    return Comparison(
        model=model,
        swapped=swapped,
        grid_x=gx,
        grid_y=gy,
        margin=_margin(out[n:]).reshape(xx.shape),
        swapped_margin=_margin(out_swapped[n:]).reshape(xx.shape),
        max_difference=float((out - out_swapped).abs().max()),
        distance=float(parameter_distance(model, swapped)),
        norm=float(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).norm()),
        disagree=int((out[:n].argmax(1) != out_swapped[:n].argmax(1)).sum()),
        loss=loss,
        accuracy=float((out[:n].argmax(1) == y).double().mean()),
    )


@functools.lru_cache(maxsize=1)
def training_points() -> tuple[torch.Tensor, torch.Tensor]:
    """(X (N, 2), y (N,)) the moons the network was trained on."""
    return load_dataset(networks.NETWORK_DATA, seed=0).train


@functools.lru_cache(maxsize=1)
def grid_axes() -> tuple[np.ndarray, np.ndarray]:
    X = training_points()[0].double().numpy()
    lo, hi = X.min(axis=0) - GRID_MARGIN, X.max(axis=0) + GRID_MARGIN
    return np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)


def _margin(logits: torch.Tensor) -> np.ndarray:
    return (logits[:, 1] - logits[:, 0]).double().numpy()
