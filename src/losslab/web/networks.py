"""What the neural-landscapes page computes, built only on the library and cached.

Three landscapes of real models on bundled data, each as a `Lesson`: a `Landscape`
with the training path, marked points and facts that the page draws and shows:

- linear regression (MSE) on the "linear" set, in its raw weights (w1, w2), with the
  normal-equation solution and a full-batch gradient-descent path to it;
- logistic regression (binary cross-entropy) on the "logistic" set, in its raw weights, with
  the fitted minimum and the weights that generated the labels;
- an MLP (2 hidden layers of `width`) on "moons", seen through a 2-D slice around its trained
  weights: filter-normalized random directions (Li et al. 2018) or the top two principal
  directions of its training path; the path is projected onto the slice.

Every function here is pure: same arguments, same arrays, bit for bit. The expensive ones are
memoized with `functools.lru_cache` on their validated, hashable arguments (`NetworkSpec`), so
a second visitor asking for the same picture gets it at once and nothing per-user is kept on
the server. Training is cached apart from the slice (bounded: a run of a wide network holds
every recorded parameter vector), so the page can report progress between the two stages.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
import torch

# The public API only: the modules behind it are being reorganised.
from losslab import Landscape, ModelObjective, TrainingRun, directions, landscape, train
from losslab.contrast import Contrast, bowl_and_mountains, raw_slice, raw_window
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.landscapes.convexity import landscape_nonconvex_share
from losslab.models import build, normal_equation

NETWORK_DATA = "moons"
WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256)
DEPTH = 2
SLICES = ("random", "pca")
MAX_SEED = 9999
CONVEX_RESOLUTION = 41
CONTRAST_RESOLUTION = 41
NETWORK_RESOLUTION = 31
RANDOM_SPAN = 1.0  # filter-normalized units: 1 moves every neuron's weights by their own norm
PLANE_SEED_STRIDE = 1000  # plane p of seed s draws its directions with seed s + 1000 p
PCA_MARGIN = 0.25  # the PCA window reaches this fraction of the path's extent beyond it
# Training: minibatch SGD with momentum for the network; full-batch gradient descent for the
# two convex models, so that their paths are the smooth descent the picture teaches.
NETWORK_TRAINING = {
    "optimizer": "sgd",
    "lr": 0.1,
    "momentum": 0.9,
    "epochs": 20,
    "batch_size": 32,
    "record_every": 4,
}
LINEAR_TRAINING = {"optimizer": "sgd", "lr": 0.1, "epochs": 60}
LOGISTIC_TRAINING = {"optimizer": "sgd", "lr": 2.0, "epochs": 150}


# The library's seeded steps (build, train, bezier) seed torch's global generator inside
# torch.random.fork_rng and restore it on the way out. The lab answers requests in threads: two
# such steps at once could restore each other's state in the middle of a build (a network drawn
# from the wrong seed, then cached). Every one of them in the web lab goes through `seeded`.
SEEDED = threading.RLock()


def seeded(step, *args, **kwargs):
    """step(*args, **kwargs) while no other thread of this process is in a seeded step."""
    with SEEDED:
        return step(*args, **kwargs)


@dataclass(frozen=True)
class NetworkSpec:
    """The validated choices behind the network picture (hashable: the cache key)."""

    width: int = 8
    slice: str = "random"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.width not in WIDTHS:
            raise LosslabError(
                f"width == {self.width!r}: choose one of {', '.join(map(str, WIDTHS))}."
            )
        if self.slice not in SLICES:
            raise LosslabError(f"slice == {self.slice!r}: choose one of {', '.join(SLICES)}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise LosslabError(f"seed == {self.seed!r}: must be a whole number.")
        if not 0 <= self.seed <= MAX_SEED:
            raise LosslabError(f"seed == {self.seed}: must be in [0, {MAX_SEED}].")


@dataclass(frozen=True, eq=False)
class Lesson:
    """A model's landscape and what the page draws on it and says about it.

    landscape: the loss on a 2-D grid of a slice (`losslab.Landscape`, 'ij' values)
    path: (T, 2) the training path in the slice's coordinates; path_loss: (T,) the true loss
        of each recorded point
    marks: label -> (x, y) points to mark (solutions, true weights); the first is "the" minimum.
        The network has none: its slice is centred on the end of training.
    axis_titles: (x title, y title); facts: short lines for the side panel.
    log: colour and height show log10(loss) (the network's loss spans decades)
    """

    title: str
    landscape: Landscape
    path: np.ndarray
    path_loss: np.ndarray
    marks: dict[str, tuple[float, float]]
    axis_titles: tuple[str, str]
    facts: tuple[str, ...] = ()
    log: bool = False

    @property
    def loss(self) -> np.ndarray:
        """(n0, n1) the loss on the grid, 'ij' order."""
        return self.landscape.values["loss"]

    @property
    def nonconvex_share(self) -> float:
        """Share of the slice where it curves downward in some direction (the core's
        estimate, losslab.landscapes.convexity)."""
        return landscape_nonconvex_share(self.landscape)


# -- the two convex models ----------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def linear_regression(seed: int = 0) -> Lesson:
    """The MSE bowl of x @ w on the "linear" set, in raw (w1, w2), with its exact minimum."""
    data = load_dataset("linear", seed=seed)
    model = seeded(build, "linear_regression", data, seed=seed)
    start = _flat(model)
    run = seeded(train, model, data, batch_size=data.n_train, seed=seed, **LINEAR_TRAINING)
    solution = normal_equation(*data.train).numpy()
    objective = ModelObjective(model, "mse", data.train)
    path = run.params.double().numpy()
    return Lesson(
        title="Linear regression (MSE)",
        landscape=raw_slice(objective, raw_window(solution, start), CONVEX_RESOLUTION),
        path=path,
        path_loss=run.train_loss.numpy(),
        marks={
            "normal-equation solution": (float(solution[0]), float(solution[1])),
            "weights that made the data": _pair(data.true_weights),
        },
        axis_titles=("w1", "w2"),
        facts=(
            f"normal equation: w = ({solution[0]:.3f}, {solution[1]:.3f}), "
            f"loss {float(objective(torch.as_tensor(solution, dtype=torch.float32))):.4f}",
            f"gradient descent: {len(path) - 1} full-batch steps to "
            f"({path[-1, 0]:.3f}, {path[-1, 1]:.3f})",
        ),
    )


@functools.lru_cache(maxsize=4)
def logistic_regression(seed: int = 0) -> Lesson:
    """The binary cross-entropy of sigmoid(x @ w) on the "logistic" set, in raw (w1, w2)."""
    data = load_dataset("logistic", seed=seed)
    model = seeded(build, "logistic_regression", data, seed=seed)
    start = _flat(model)
    run = seeded(
        train, model, data, loss="bce", batch_size=data.n_train, seed=seed, **LOGISTIC_TRAINING
    )
    fitted = run.final.double().numpy()
    objective = ModelObjective(model, "bce", data.train)
    path = run.params.double().numpy()
    return Lesson(
        title="Logistic regression (binary cross-entropy)",
        landscape=raw_slice(objective, raw_window(fitted, start), CONVEX_RESOLUTION),
        path=path,
        path_loss=run.train_loss.numpy(),
        marks={
            "fitted minimum": (float(fitted[0]), float(fitted[1])),
            "weights that made the data": _pair(data.true_weights),
        },
        axis_titles=("w1", "w2"),
        facts=(
            f"fitted minimum: w = ({fitted[0]:.3f}, {fitted[1]:.3f}), "
            f"loss {float(run.train_loss[-1]):.4f}",
            "no closed form: the minimum is where gradient descent settles",
        ),
    )


CONTRAST_ONCE = threading.Lock()  # the start-up's priming and a first visitor ask together


def contrast(seed: int = 0) -> Contrast:
    """The bowl and the mountains the page opens on (`losslab.bowl_and_mountains`), computed
    once per process: a second caller waits for the first one's answer instead of computing it
    again beside it."""
    with CONTRAST_ONCE:
        return _contrast(seed)


@functools.lru_cache(maxsize=1)
def _contrast(seed: int) -> Contrast:
    return seeded(bowl_and_mountains, CONTRAST_RESOLUTION, seed=seed)


def warm_cache() -> None:
    """Compute what the page shows first, so that its first visitor does not wait for the
    one-time imports (torch's optimizers, scikit-learn) and the first trainings. For a server
    to run in a background thread at start-up."""
    contrast(0)
    linear_regression(0)
    logistic_regression(0)
    network_slice(NetworkSpec())


# -- the network --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=6)
def trained_network(width: int, seed: int) -> tuple[TrainingRun, dict]:
    """An MLP of `width` trained on moons: its recorded run and the hyperparameters used."""
    NetworkSpec(width=width, seed=seed)  # validates
    data = load_dataset(NETWORK_DATA, seed=0)
    model = seeded(build, "mlp", data, width=width, depth=DEPTH, seed=seed)
    run = seeded(train, model, data, seed=seed, **NETWORK_TRAINING)
    return run, dict(NETWORK_TRAINING)


def trained_objective(width: int, seed: int) -> tuple[TrainingRun, ModelObjective]:
    """The run of `trained_network` and the network's loss on moons as an objective, on a
    model of its own (a copy holding the trained weights)."""
    run, _ = trained_network(width, seed)
    data = load_dataset(NETWORK_DATA, seed=0)
    model = seeded(build, "mlp", data, width=width, depth=DEPTH, seed=seed)
    model.load_state_dict(run.param_dict(-1), strict=False)
    return run, ModelObjective(model, "cross_entropy", data.train)


def random_plane(objective: ModelObjective, seed: int, plane: int = 0):
    """The filter-normalized random directions of one plane: plane 0 draws with `seed` (the
    page's slice); plane p with seed + PLANE_SEED_STRIDE * p, so a network has several
    independent planes and no two (seed, plane) pairs below the stride share their draws."""
    return directions.random(
        objective, 2, normalization="filter", seed=seed + PLANE_SEED_STRIDE * plane
    )


def random_slice(
    width: int, seed: int, plane: int = 0, resolution: int = NETWORK_RESOLUTION
) -> Landscape:
    """The loss of the trained network on one random plane through its final weights, +-
    RANDOM_SPAN filter-normalized units: a `Landscape` with the origin at the grid's centre."""
    run, objective = trained_objective(width, seed)
    dirs = random_plane(objective, seed, plane)
    return landscape(
        objective, dirs, origin=run.final, span=RANDOM_SPAN, resolution=resolution, metrics=["loss"]
    )


@functools.lru_cache(maxsize=48)
def network_slice(spec: NetworkSpec, resolution: int = NETWORK_RESOLUTION) -> Lesson:
    """The trained network's loss on a 2-D slice through its final weights, with its path."""
    run, objective = trained_objective(spec.width, spec.seed)
    final = run.final
    if spec.slice == "random":
        dirs = random_plane(objective, spec.seed)
        span = RANDOM_SPAN
        titles = ("direction 1 (filter-normalized)", "direction 2 (filter-normalized)")
    else:
        dirs = directions.pca(run, 2)
        span = _pca_span(run, dirs)
        ratios = dirs.explained_variance or (0.0, 0.0)
        titles = (
            f"PC 1 ({100 * ratios[0]:.0f}% of the path's variance)",
            f"PC 2 ({100 * ratios[1]:.0f}%)",
        )
    result = landscape(objective, dirs, origin=final, span=span, resolution=resolution)
    coords, residual = result.project(run, return_residual=True)
    scale = float(np.linalg.norm(run.params[0].double().numpy() - final.double().numpy()))
    off = float(residual[0]) / scale if scale > 0 else 0.0
    at_end = objective.evaluate(final[None].to(objective.dtype))
    n_params = int(run.params.shape[1])
    facts = [
        f"{n_params} weights (2 -> {spec.width} -> {spec.width} -> 2), {run.n_steps} SGD steps: "
        f"loss {float(run.train_loss[0]):.3g} -> {float(run.train_loss[-1]):.3g}",
    ]
    if "accuracy" in at_end:
        facts.append(f"training accuracy: {100 * float(at_end['accuracy'][0]):.0f}%")
    facts.append(
        f"{100 * landscape_nonconvex_share(result):.0f}% of this slice curves downward in some "
        "direction (non-convex)"
    )
    facts.append(
        f"{100 * off:.0f}% of the way from start to end is perpendicular to this random "
        "plane: the drawn path is its shadow (the PCA slice shows it whole)"
        if spec.slice == "random"
        else f"this plane holds {100 * sum(dirs.explained_variance or ()):.0f}% of the path's "
        "movement"
    )
    return Lesson(
        title=f"MLP of width {spec.width} on {NETWORK_DATA} (cross-entropy)",
        landscape=result,
        path=coords,
        path_loss=run.train_loss.numpy(),
        marks={},  # the end of training is the centre: its own marker shows it
        axis_titles=titles,
        facts=tuple(facts),
        log=True,
    )


def _pca_span(run: TrainingRun, dirs) -> list[tuple[float, float]]:
    """Per axis, the projected path's extent plus a margin (PCA directions are orthonormal)."""
    vectors = dirs.vectors.numpy()
    delta = run.params.double().numpy() - run.final.double().numpy()
    coords = delta @ vectors.T  # (T, 2)
    span = []
    for axis in range(2):
        lo, hi = float(min(coords[:, axis].min(), 0.0)), float(max(coords[:, axis].max(), 0.0))
        pad = PCA_MARGIN * max(hi - lo, 1e-3)
        span.append((lo - pad, hi + pad))
    return span


def _flat(model) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()


def _pair(values) -> tuple[float, float]:
    values = torch.as_tensor(values).double().reshape(-1)
    return float(values[0]), float(values[1])
