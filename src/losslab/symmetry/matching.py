"""Weight matching (Ainsworth, Hayase, Srinivasa 2022, "Git Re-Basin", algorithm 1): the
permutation of `other`'s units that brings its weights closest to `reference`'s.

Maximising sum over tensors <W_ref, P(W_other)> over all groups' permutations at once is
NP-hard; fixing every group but one leaves a linear assignment problem. For group g with n
units, the similarity of reference unit i and other unit j is

    S[i, j] = sum over members (tensor W, axis a) of g of
              <W_ref moved to (n, -1) at row i, W_other' moved to (n, -1) at row j>

where W_other' has the other groups' current permutations applied on its other axes; the
best order of g is `linear_sum_assignment(S, maximize=True)`. Coordinate descent visits the
groups in a random order (seeded) per pass, and stops after a pass that changes no group
(or `max_iter` passes). A group's order changes only when it strictly raises its
similarity, so every pass raises the objective and the descent ends.

The similarities are float64 products of the trainable parameters (BatchNorm running
statistics are buffers and are not matched; they follow their units when permuted).

Each term <W_ref, W_other'> of S depends only on the orders of the groups acting on the
tensor's other axes, so it is kept between visits and recomputed only when one of those
orders changed (`_Terms`): after the first passes few groups still move, and the last pass,
which changes nothing, computes no product at all. The numbers are the same products either way.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping

import torch
from torch import Tensor, nn

from losslab._checks import check_count, check_seed
from losslab.errors import LosslabError
from losslab.params import ParamLayout
from losslab.symmetry.groups import Group, permutation_groups
from losslab.symmetry.permutation import Permutation, from_groups, unit_index


def weight_matching(
    reference: nn.Module, other: nn.Module, *, max_iter: int = 100, seed: int = 0
) -> Permutation:
    """The permutation p of `other`'s units that best aligns it to `reference`:
    permute(other, p) is `other`'s function with weights near `reference`'s.

    reference, other: two models of one architecture (same groups, parameter names and
        shapes). max_iter: the most passes over all groups. seed: the order of the groups
        in each pass. Returns p with method "weight_matching" and n_iterations the passes
        made (the last changed nothing, unless max_iter was reached).
    """
    check_count("max_iter", max_iter)
    check_seed(seed)
    groups = permutation_groups(reference)
    _check_same_architecture(reference, other, groups)
    perms, passes = match(groups, _weights(reference), _weights(other), max_iter, seed)
    return from_groups(groups, perms, method="weight_matching", seed=seed, n_iterations=passes)


def match(
    groups: tuple[Group, ...],
    reference: dict[str, Tensor],
    other: dict[str, Tensor],
    max_iter: int,
    seed: int,
    clock: MutableMapping[str, float] | None = None,
) -> tuple[list[Tensor], int]:
    """The coordinate descent on float64 tensors by name: (one order per group, passes).

    clock: when given, "similarity" and "assignment" accumulate the seconds spent building
    the similarity matrices and solving the assignments (benchmarks/symmetry.py)."""
    from scipy.optimize import linear_sum_assignment  # scipy only when matching

    clock = {} if clock is None else clock
    clock.setdefault("similarity", 0.0)
    clock.setdefault("assignment", 0.0)
    perms = [torch.arange(g.size) for g in groups]
    # tensor name -> [(group index, axis, block)]: where the other groups act on it
    axes: dict[str, list[tuple[int, int, int]]] = {}
    for index, group in enumerate(groups):
        for member in group.members:
            if member.name in reference:
                axes.setdefault(member.name, []).append((index, member.axis, member.block))
    generator = torch.Generator().manual_seed(seed)
    terms = _Terms(axes, reference, other, perms)
    passes = 0
    for passes in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        changed = False
        for index in torch.randperm(len(groups), generator=generator).tolist():
            start = time.perf_counter()
            similarity = terms.similarity(index, groups[index].size)
            middle = time.perf_counter()
            _, columns = linear_sum_assignment(similarity.numpy(), maximize=True)
            clock["assignment"] += time.perf_counter() - middle
            clock["similarity"] += middle - start
            rows = torch.arange(groups[index].size)
            new = torch.as_tensor(columns, dtype=torch.int64)
            old_value = float(similarity[rows, perms[index]].sum())
            new_value = float(similarity[rows, new].sum())
            # strictly better only (ties keep the current order): the descent ends
            if new_value > old_value + 1e-12 * max(1.0, abs(old_value)):
                terms.reorder(index, new)
                changed = True
        if not changed:
            break
    return perms, passes


class _Terms:
    """The similarity matrices of the groups, from terms kept between visits.

    A term is one (tensor, axis) of a group: reference (size, rest) @ other' (size, rest)^T,
    other' with the current orders of the groups on its other axes. It is recomputed only when
    one of those orders changed since it was computed (a version count per group)."""

    def __init__(self, axes, reference: dict[str, Tensor], other: dict[str, Tensor], perms):
        self.axes, self.reference, self.other, self.perms = axes, reference, other, perms
        self.versions = [0] * len(perms)
        self.kept: dict[tuple[str, int], tuple[tuple[int, ...], Tensor]] = {}

    def reorder(self, index: int, order: Tensor) -> None:
        self.perms[index] = order
        self.versions[index] += 1

    def similarity(self, index: int, size: int) -> Tensor:
        """S (size, size) float64 of group `index`: one term per member axis of the group
        (a residual stream's square weight has both axes in one group: its other axis takes
        that group's current order)."""
        similarity = torch.zeros(size, size, dtype=torch.float64)
        for name, uses in self.axes.items():
            for group, axis, _block in uses:
                if group == index:
                    similarity += self._term(name, axis, size, uses)
        return similarity

    def _term(self, name: str, axis: int, size: int, uses) -> Tensor:
        acting = [(g, a, block) for g, a, block in uses if a != axis]
        versions = tuple(self.versions[g] for g, _, _ in acting)
        kept = self.kept.get((name, axis))
        if kept is not None and kept[0] == versions:
            return kept[1]
        w_other = self.other[name]
        for other_group, other_axis, block in acting:
            moved = unit_index(self.perms[other_group], block).to(w_other.device)
            w_other = w_other.index_select(other_axis, moved)
        # (size * block, ...) at axis -> (size, block * rest): unit i's entries in row i
        a = self.reference[name].movedim(axis, 0).reshape(size, -1)
        b = w_other.movedim(axis, 0).reshape(size, -1)
        term = (a @ b.T).cpu()
        self.kept[(name, axis)] = (versions, term)
        return term


def _weights(model: nn.Module) -> dict[str, Tensor]:
    """Trainable parameters by name, detached, float64."""
    return {
        name: p.detach().to(torch.float64)
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def _check_same_architecture(reference: nn.Module, other: nn.Module, groups) -> None:
    layouts = ParamLayout.of(reference), ParamLayout.of(other)
    if layouts[0] != layouts[1]:
        raise LosslabError(
            f"weight matching needs two models of one architecture: the reference "
            f"{type(reference).__name__} has {layouts[0].n_params} parameters, the other "
            f"{type(other).__name__} {layouts[1].n_params} (or other names/shapes)."
        )
    if permutation_groups(other) != groups:
        raise LosslabError(
            "weight matching needs two models of one architecture: their permutation "
            "groups differ (compare permutation_groups of each)."
        )


__all__ = ["match", "weight_matching"]
