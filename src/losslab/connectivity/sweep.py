"""`width_sweep`: the measured form of "wider is smoother": train a family of networks at
several widths, several seeds each, and measure every trained network the same way.

Per width w and seed s (one *cell*):

1. train: torch seeded with s, `make_model(w)`, trained by `losslab.train(seed=s, ...)`;
2. loss / accuracy: the trained network's loss (and accuracy, for a classification loss) on
   the whole data, in eval mode (`ModelObjective.evaluate` at its weights);
3. barrier_before / barrier_after: `linear_path` from this network to its *partner*, the
   network of the next seed at the same width (seeds[i] pairs with seeds[(i + 1) % S], so
   every network is the reference of one pair; with S seeds there are S pairs, and
   neighbouring pairs share a network), then again after `weight_matching(this, partner)`
   has permuted the partner's hidden units onto this network's. The loss barrier and the
   accuracy drop (barrier_accuracy_*) are `Path.barrier`'s;
4. top_eigenvalue: the largest eigenvalue of the Hessian of the loss at the trained weights
   (`losslab.curvature.eigenvalues`, Lanczos, seeded with s);
5. nonconvex_share / roughness: a random 2-D slice through the trained weights, filter-
   normalized (Li et al. 2018: `directions.random(normalization="filter")`, biases fixed),
   +- `span` units at `resolution` x `resolution` points. Plane p draws its directions with
   seed s + PLANE_SEED_STRIDE * p; with `planes` > 1 both figures are the mean over planes.
   - nonconvex_share: `losslab.landscapes.convexity.nonconvex_share` of the slice.
   - roughness (`slice_roughness`): the root-mean-square part of the slice that no quadratic
     surface a + bx + cy + dx^2 + exy + fy^2 explains, relative to the slice's own spread
     about its mean: sqrt(1 - R^2) of a least-squares quadratic fit. 0 for a bowl, a saddle,
     a valley or a plane; near 1 for a slice that is all bumps. It is scale-aware: it does
     not change when the loss is multiplied by a factor or shifted, so a wide network whose
     loss is small everywhere is not called smooth only because its numbers are small (the
     old "rise" figure, mean loss above the centre, was in loss units and was).

Nothing is claimed: the result holds every sample, and `WidthSweep.mean` / `.sd` summarise
them over seeds. The same arguments give the same numbers (every step is seeded), on the same
machine and thread count.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from losslab._checks import check_count, check_lr, check_positive, check_seed
from losslab.connectivity.sweep_result import ACCURACY_FIGURES, FIGURES, WidthSweep
from losslab.curvature import eigenvalues
from losslab.directions import random as random_directions
from losslab.errors import LosslabError
from losslab.executors import executor_of
from losslab.landscapes import landscape
from losslab.landscapes.convexity import NEGATIVE_REL, nonconvex_share
from losslab.objectives.model import ModelObjective
from losslab.training import train

PLANE_SEED_STRIDE = 1000  # plane p of seed s draws its directions with seed s + 1000 p
ONCE = 10**9  # record_every: keep only the first and last weights of each run
ROUGHNESS = (
    "sqrt(1 - R^2) of a least-squares quadratic fit a + bx + cy + dx^2 + exy + fy^2 to the "
    "slice's loss: 0 for any quadratic surface, near 1 for bumps only; unchanged by scaling "
    "or shifting the loss"
)
PAIRING = "seeds[i] with seeds[(i + 1) % S] at the same width (cyclic)"


def width_sweep(
    make_model: Callable[[int], nn.Module],
    widths: Sequence[int],
    data,
    loss_fn,
    *,
    seeds: int | Sequence[int],
    epochs: int,
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    batch_size: int = 64,
    span: float = 1.0,
    resolution: int = 21,
    planes: int = 1,
    n_points: int = 25,
    bn: str = "recompute",
    eigen_tol: float = 1e-4,
    progress: Callable[[int, int], None] | None = None,
    executor=None,
) -> WidthSweep:
    """Train `make_model(width)` for every width and seed, and measure each network.

    make_model: width -> a new nn.Module (called with torch's random state seeded by the seed,
        so its initial weights are the seed's); the same family at every width.
    widths: distinct positive ints (sorted ascending in the result).
    data: what `losslab.train` and `ModelObjective` read: a losslab Dataset (its training
        split) or tensors (X, y). Every figure is measured on the whole of it.
    loss_fn: "cross_entropy" | "bce" | "mse" or a loss module (as `train` takes it).
    seeds: a count n >= 2 (seeds 0..n-1) or at least 2 distinct seeds.
    epochs, optimizer, lr, momentum, batch_size: the training (`losslab.train`).
    span, resolution, planes: the random slices (+-span filter-normalized units,
        resolution >= 3 points per axis, planes per network, figures averaged over them).
    n_points, bn: the straight paths (`linear_path`).
    eigen_tol: the Lanczos tolerance of the top eigenvalue.
    progress: called as progress(cells_done, cells_total) after each (width, seed) cell.
    executor: who runs the cells ("local", "ray" or a `losslab.executors.Executor`): first
        one unit per cell trains its network, then one unit per cell measures it with its
        partner. Every step is seeded, so every executor gives the same numbers (on the same
        intra-op thread count: float32 sums depend on it, see `losslab.curvature.probes`).

    Returns a `WidthSweep` whose samples are (W, S) per figure (see the module docstring).
    """
    if not callable(make_model):
        raise LosslabError(f"make_model is a {type(make_model).__name__}, must be width -> model.")
    widths = _widths(widths)
    seeds = _seeds(seeds)
    training = {
        "optimizer": optimizer,
        "lr": check_lr(lr),
        "momentum": float(momentum),
        "epochs": check_count("epochs", epochs),
        "batch_size": check_count("batch_size", batch_size),
    }
    span = check_positive("span", span)
    resolution = check_count("resolution", resolution, minimum=3)
    planes = check_count("planes", planes)
    n_points = check_count("n_points", n_points, minimum=2)
    eigen_tol = check_positive("eigen_tol", eigen_tol)
    if progress is not None and not callable(progress):
        raise LosslabError(f"progress == {progress!r}, must be a callable (done, total).")

    started = time.perf_counter()
    runner = executor_of(executor)
    inputs = _SweepInputs(
        make_model, data, loss_fn, training, span, resolution, planes, n_points, bn, eigen_tol
    )
    cells = [(width, seed) for width in widths for seed in seeds]  # row-major: (W, S)
    models: list[nn.Module | None] = [None] * len(cells)

    def keep_model(index: int, model: nn.Module) -> None:
        models[index] = model

    runner.run(_train_cell, inputs, cells, keep_model, describe=_cell_name("training", cells))
    n_params = {
        str(width): sum(p.numel() for p in models[w * len(seeds)].parameters())
        for w, width in enumerate(widths)
    }

    def partner(index: int) -> nn.Module:  # the next seed's network at the same width (cyclic)
        w, s = divmod(index, len(seeds))
        return models[w * len(seeds) + (s + 1) % len(seeds)]

    samples: dict[str, np.ndarray] = {}
    n_done = 0

    def keep_figures(index: int, figures: dict[str, float]) -> None:
        nonlocal n_done
        w, s = divmod(index, len(seeds))
        for figure, value in figures.items():
            samples.setdefault(figure, np.full((len(widths), len(seeds)), np.nan))[w, s] = value
        n_done += 1
        if progress is not None:
            progress(n_done, len(cells))

    units = [(seed, models[i], partner(i)) for i, (_, seed) in enumerate(cells)]
    runner.run(_measure_cell, inputs, units, keep_figures, describe=_cell_name("measuring", cells))

    if any(f in samples for f in ACCURACY_FIGURES) and not all(
        f in samples for f in ACCURACY_FIGURES
    ):
        raise LosslabError("accuracy was measured at some points only: use one kind of loss.")
    settings = {
        **{k: _plain(v) for k, v in training.items()},
        "loss": _plain(loss_fn),
        "span": span,
        "resolution": resolution,
        "planes": planes,
        "normalization": "filter",
        "plane_seed": f"seed + {PLANE_SEED_STRIDE} * plane",
        "negative_rel": NEGATIVE_REL,
        "roughness": ROUGHNESS,
        "pairing": PAIRING,
        "matching": "weight_matching(this network, its partner), max_iter 100, seed 0",
        "n_points": n_points,
        "bn": bn,
        "eigen_tol": eigen_tol,
        "n_params": n_params,
    }
    return WidthSweep(
        widths=torch.tensor(widths, dtype=torch.int64),
        seeds=torch.tensor(seeds, dtype=torch.int64),
        samples={f: torch.from_numpy(samples[f]) for f in FIGURES if f in samples},
        settings=settings,
        seconds=time.perf_counter() - started,
    )


def slice_roughness(values) -> float:
    """sqrt(1 - R^2) of the least-squares quadratic surface through a 2-D slice.

    values: (n0, n1) on an evenly spaced grid, n0, n1 >= 3 (the grid's coordinates do not
    matter: an affine change of coordinates maps quadratics to quadratics). 0 when the
    slice is a quadratic (bowl, saddle, valley, plane) or flat; up to 1; NaN when it holds a
    non-finite value. Unchanged by v -> a v + b for a > 0.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or min(v.shape) < 3:
        raise LosslabError(f"a slice of shape {v.shape}: roughness needs (n0, n1), both >= 3.")
    if not np.isfinite(v).all():
        return math.nan
    axes = (np.linspace(-1, 1, v.shape[0]), np.linspace(-1, 1, v.shape[1]))
    x, y = (grid.ravel() for grid in np.meshgrid(*axes, indexing="ij"))
    target = v.ravel()
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)  # (n0 n1, 6)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    spread = target - target.mean()
    total = float(spread @ spread)
    # A slice whose spread is round-off (a constant) has nothing to be rough about.
    if total <= (1e3 * np.finfo(np.float64).eps * float(np.abs(target).max())) ** 2 * len(target):
        return 0.0
    return float(min(1.0, math.sqrt(float(residual @ residual) / total)))


def _slice_figures(objective, seed: int, plane: int, span: float, resolution: int):
    """(non-convex share, roughness) of one random filter-normalized slice."""
    dirs = random_directions(
        objective, 2, normalization="filter", seed=seed + PLANE_SEED_STRIDE * plane
    )
    grid = landscape(objective, dirs, span=span, resolution=resolution, metrics=["loss"])
    x, y = grid.coords
    loss = grid.values["loss"]
    return nonconvex_share(x, y, loss), slice_roughness(loss)


@dataclass(frozen=True)
class _SweepInputs:
    """What every cell reads: the family, the data and the settings (sent once)."""

    make_model: Callable[[int], nn.Module]
    data: Any
    loss_fn: Any
    training: dict
    span: float
    resolution: int
    planes: int
    n_points: int
    bn: str
    eigen_tol: float


def _train_cell(inputs: _SweepInputs, cell: tuple[int, int]) -> nn.Module:
    """Unit of work: the network of (width, seed), trained."""
    width, seed = cell
    return _trained(inputs.make_model, width, seed, inputs.data, inputs.loss_fn, inputs.training)


def _measure_cell(inputs: _SweepInputs, unit) -> dict[str, float]:
    """Unit of work: every figure of one network (seed, model, its partner)."""
    from losslab.connectivity import linear_path  # the package is imported by now
    from losslab.symmetry import permute, weight_matching

    seed, model, partner = unit
    data, loss_fn = inputs.data, inputs.loss_fn
    figures: dict[str, float] = {}
    objective = ModelObjective(model, loss_fn, data)
    at_end = objective.evaluate(objective.origin)
    figures["loss"] = float(at_end["loss"])
    if "accuracy" in at_end:
        figures["accuracy"] = float(at_end["accuracy"])
    aligned = permute(partner, weight_matching(model, partner))
    for when, other in (("before", partner), ("after", aligned)):
        path = linear_path(model, other, loss_fn, data, n_points=inputs.n_points, bn=inputs.bn)
        figures[f"barrier_{when}"] = float(path.barrier["loss"])
        if "accuracy" in path.barrier:
            figures[f"barrier_accuracy_{when}"] = float(path.barrier["accuracy"])
    top = eigenvalues(objective, k=1, seed=seed, tol=inputs.eigen_tol)
    figures["top_eigenvalue"] = float(top.values[0])
    planes = [
        _slice_figures(objective, seed, p, inputs.span, inputs.resolution)
        for p in range(inputs.planes)
    ]
    figures["nonconvex_share"] = float(np.mean([f[0] for f in planes]))
    figures["roughness"] = float(np.mean([f[1] for f in planes]))
    return figures


def _cell_name(what: str, cells: list[tuple[int, int]]) -> Callable[[int, Any], str]:
    def name(index: int, unit) -> str:
        width, seed = cells[index]
        return f"{what} the network of width {width}, seed {seed},"

    return name


def _trained(make_model, width: int, seed: int, data, loss_fn, training: dict) -> nn.Module:
    """make_model(width) built under torch seeded with `seed`, then trained with `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make_model(width)
    if not isinstance(model, nn.Module):
        raise LosslabError(
            f"make_model({width}) returned a {type(model).__name__}, must be a torch nn.Module."
        )
    train(model, data, loss=loss_fn, seed=seed, record_every=ONCE, **training)
    return model


def _widths(widths) -> list[int]:
    if isinstance(widths, numbers.Integral | str) or not isinstance(widths, Iterable):
        raise LosslabError(f"widths == {widths!r}, must be a list of positive whole numbers.")
    widths = list(widths)  # a tuple, range or numpy array as well
    bad = [w for w in widths if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1]
    if not widths or bad:
        raise LosslabError(
            f"widths == {list(widths)!r}: every width must be a whole number >= 1"
            + (f" (not {bad[0]!r})." if bad else ", and there must be one at least.")
        )
    if len(set(widths)) != len(widths):
        raise LosslabError(f"widths == {list(widths)!r} repeats a width: give each once.")
    return sorted(int(w) for w in widths)


def _seeds(seeds) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 2:
            raise LosslabError(
                f"seeds == {seeds}: a sweep needs 2 seeds at least (a barrier pairs two "
                "networks; a spread needs two)."
            )
        return list(range(int(seeds)))
    if isinstance(seeds, str) or not isinstance(seeds, Iterable):
        raise LosslabError(f"seeds == {seeds!r}, must be a count >= 2 or a list of seeds.")
    seeds = list(seeds)
    chosen = [int(check_seed(s, "each seed")) for s in seeds]
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise LosslabError(
            f"seeds == {list(seeds)!r}: give 2 distinct seeds at least (a barrier pairs two "
            "networks; a spread needs two)."
        )
    return chosen


def _plain(value: Any) -> Any:
    """A setting as plain JSON: names of callables and modules, numbers as they are."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return getattr(value, "__name__", type(value).__name__)
