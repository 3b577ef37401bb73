"""What the symmetry page's second part computes: two moons networks trained from different
seeds, network B's hidden neurons matched to A's (`losslab.symmetry.weight_matching`), the
loss along the straight line between them before and after the matching
(`losslab.connectivity.linear_path`) and along a trained quadratic Bezier curve
(`losslab.connectivity.bezier`, between A and B as trained).

Each step is its own function, memoized on its validated, hashable arguments (`PairSpec`), so
that the page can run them as separate stages with progress, a revisit is instant, and nothing
per visitor is kept on the server. The networks are the neural page's (losslab.web.networks,
shared cache).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from torch import nn

from losslab.connectivity import Path, bezier, linear_path
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.symmetry import Permutation, permute, weight_matching
from losslab.web import networks
from losslab.web.swaps import trained_model

WIDTHS = (8, 16, 32, 64)  # a subset of networks.WIDTHS: each stage well under a second here
DEFAULT_WIDTH = 32
LOSS = "cross_entropy"
N_POINTS = 25
# The Bezier curve's control point: 100 epochs of SGD (momentum 0.9) at lr 0.1 in batches of
# 64 takes about 0.5 s for these networks and brings its barrier to about 0.01.
BEZIER = {"epochs": 100, "lr": 0.1, "seed": 0}


@dataclass(frozen=True)
class PairSpec:
    """The validated choices behind the two networks (hashable: the cache key)."""

    width: int = DEFAULT_WIDTH
    seed_a: int = 0
    seed_b: int = 1

    def __post_init__(self) -> None:
        if self.width not in WIDTHS:
            raise LosslabError(
                f"width == {self.width!r}: choose one of {', '.join(map(str, WIDTHS))}."
            )
        for name in ("seed_a", "seed_b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise LosslabError(f"{name} == {value!r}: must be a whole number.")
            if not 0 <= value <= networks.MAX_SEED:
                raise LosslabError(f"{name} == {value}: must be in [0, {networks.MAX_SEED}].")
        if self.seed_a == self.seed_b:
            raise LosslabError(
                f"Seed A and seed B are both {self.seed_a}: that trains the same network "
                "twice. Choose two different seeds."
            )


def models(spec: PairSpec) -> tuple[nn.Module, nn.Module]:
    """Networks A and B (memoized by networks.trained_network and swaps.trained_model)."""
    return trained_model(spec.width, spec.seed_a), trained_model(spec.width, spec.seed_b)


@functools.lru_cache(maxsize=16)
def matching(spec: PairSpec) -> tuple[Permutation, nn.Module]:
    """B's hidden neurons reordered to line up with A's: the permutation and B permuted."""
    a, b = models(spec)
    found = weight_matching(a, b)
    return found, permute(b, found).eval()


@functools.lru_cache(maxsize=16)
def lines(spec: PairSpec) -> tuple[Path, Path]:
    """The straight line from A to B as trained, and from A to B after the matching."""
    a, b = models(spec)
    _, aligned = matching(spec)
    data = _data()
    before = linear_path(a, b, LOSS, data, n_points=N_POINTS)
    after = linear_path(a, aligned, LOSS, data, n_points=N_POINTS)
    return before, after


@functools.lru_cache(maxsize=16)
def curve(spec: PairSpec) -> Path:
    """A quadratic Bezier curve from A to B (as trained, no matching) with a trained bend."""
    a, b = models(spec)
    return networks.seeded(bezier, a, b, LOSS, _data(), n_points=N_POINTS, **BEZIER)


def warm_cache() -> None:
    """Compute what the page's second part shows first (its default networks' matching, lines
    and curve), so that its first visitor does not wait. For a server's background thread."""
    spec = PairSpec()
    lines(spec)
    curve(spec)


@functools.lru_cache(maxsize=1)
def _data():
    return load_dataset(networks.NETWORK_DATA, seed=0)
