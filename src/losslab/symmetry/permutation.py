"""`Permutation`: a reordering of a model's hidden units, as data; `permute` applies one,
`random_permutation` draws one, `parameter_distance` measures how far it moved the weights.

    >>> p = random_permutation(model, seed=0)          # one random order per group
    >>> twin = permute(model, p)                       # a new model, same function
    >>> parameter_distance(model, twin)                # far apart all the same
    >>> permute(twin, p.inverse())                     # model again
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from losslab._checks import check_seed
from losslab.errors import ArgumentTypeError, LosslabError
from losslab.params import ParamLayout, model_vector
from losslab.results import Result
from losslab.results.kinds import IntArray
from losslab.results.summary import compose, raw
from losslab.symmetry.groups import Group, Member, permutation_groups

MemberRecord = tuple[str, int, int]  # (tensor name, axis, block), as a file stores a Member


@dataclass(frozen=True, eq=False)
class Permutation(Result):
    """One order of the units of each permutable group of a model.

    groups:  (G,) group names (the layer that produces the units: "0", "block.fc1").
    perms:   G int64 tensors (n_units,): unit i of the new model is unit perms[g][i] of the
             old one, in every member of group g.
    members: per group, the (tensor name, axis, block) of every parameter/buffer its units
             index: `axis` holds n_units * block entries, unit i owning a block of them.
    method:  how it was made ("random", "weight_matching", "inverse of random", "given");
    seed:    the seed of a random or matched permutation; n_iterations: weight matching's
             passes over the groups (0 for others).
    """

    result_type = "permutation"

    groups: tuple[str, ...]
    perms: tuple[IntArray, ...]
    members: tuple[tuple[MemberRecord, ...], ...]
    method: str = "given"
    seed: int | None = None
    n_iterations: int = 0

    def __post_init__(self):
        _check_consistent(self)

    def __len__(self) -> int:
        return len(self.groups)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Units per group."""
        return tuple(int(p.numel()) for p in self.perms)

    @property
    def is_identity(self) -> bool:
        """Whether every unit stays where it is."""
        return all(torch.equal(p, torch.arange(p.numel())) for p in self.perms)

    @property
    def n_moved(self) -> int:
        """How many units change place, over all groups."""
        return sum(int((p != torch.arange(p.numel())).sum()) for p in self.perms)

    def inverse(self) -> Permutation:
        """The permutation that undoes this one: permute(permute(m, p), p.inverse()) is m."""
        method = self.method.removeprefix("inverse of ")
        if method == self.method:
            method = f"inverse of {self.method}"
        return Permutation(
            self.groups,
            tuple(torch.argsort(p) for p in self.perms),
            self.members,
            method,
            self.seed,
            self.n_iterations,
        )

    def perm(self, group: str) -> Tensor:
        """The order of one group, by name."""
        if group not in self.groups:
            raise LosslabError(f"no group {group!r} in this permutation: it has {self.groups}.")
        return self.perms[self.groups.index(group)]

    def summary(self) -> str:
        """One line per group: its name, size, units moved and members."""
        lines = [f"{self.method} permutation of {len(self)} groups, {self.n_moved} units moved"]
        for name, perm, members in zip(self.groups, self.perms, self.members, strict=True):
            moved = int((perm != torch.arange(perm.numel())).sum())
            tensors = ", ".join(f"{n}[axis {a}{f' x{b}' if b > 1 else ''}]" for n, a, b in members)
            lines.append(f"  {name}: {perm.numel()} units, {moved} moved; {tensors}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{g}:{n}" for g, n in zip(self.groups, self.sizes, strict=True))
        return compose(
            "Permutation",
            method=self.method,
            seed=self.seed,
            groups=raw(f"[{sizes}]"),
            n_moved=self.n_moved,
        )


def random_permutation(model: nn.Module, *, seed: int) -> Permutation:
    """A uniformly random order of every permutable group of `model`, drawn with a
    torch.Generator seeded with `seed` (one randperm per group, in group order)."""
    check_seed(seed)
    groups = permutation_groups(model)
    generator = torch.Generator().manual_seed(seed)
    perms = tuple(torch.randperm(g.size, generator=generator) for g in groups)
    return from_groups(groups, perms, method="random", seed=seed)


def from_groups(
    groups: tuple[Group, ...],
    perms: tuple[Tensor, ...],
    *,
    method: str = "given",
    seed: int | None = None,
    n_iterations: int = 0,
) -> Permutation:
    """A Permutation of `groups` (from permutation_groups) with these orders."""
    return Permutation(
        tuple(g.name for g in groups),
        tuple(torch.as_tensor(p, dtype=torch.int64) for p in perms),
        tuple(tuple(tuple(m) for m in g.members) for g in groups),
        method,
        seed,
        n_iterations,
    )


def permute(model: nn.Module, permutation: Permutation) -> nn.Module:
    """A new model (a deep copy; `model` is untouched) whose units are reordered by
    `permutation`: the same function to float tolerance, its weights elsewhere.

    Refused with one line: a permutation whose groups, sizes or members are not those that
    permutation_groups(model) finds. A group of the model the permutation leaves out keeps
    its order.
    """
    if not isinstance(permutation, Permutation):
        raise ArgumentTypeError(
            f"permutation is a {type(permutation).__name__}, must be a losslab Permutation "
            "(random_permutation, weight_matching or Permutation.load)."
        )
    check_fits(model, permutation)
    new = copy.deepcopy(model)
    tensors = _tensors(new)
    with torch.no_grad():
        for perm, members in zip(permutation.perms, permutation.members, strict=True):
            for name, axis, block in members:
                tensor = tensors[name]
                index = unit_index(perm, block).to(tensor.device)
                tensor.copy_(tensor.index_select(axis, index))
    return new


def check_fits(model: nn.Module, permutation: Permutation) -> dict[str, Group]:
    """The model's groups by name, once every group of `permutation` is one of them."""
    found = {g.name: g for g in permutation_groups(model)}
    for name, size, members in zip(
        permutation.groups, permutation.sizes, permutation.members, strict=True
    ):
        group = found.get(name)
        if group is None:
            raise LosslabError(
                f"the permutation's group {name!r} is not a group of this "
                f"{type(model).__name__}: its groups are {list(found) or 'none'}."
            )
        if size != group.size:
            raise LosslabError(
                f"the permutation's group {name!r} has {size} units, the model's has "
                f"{group.size}: the permutation is for another model."
            )
        if {Member(*m) for m in members} != set(group.members):
            raise LosslabError(
                f"the permutation's group {name!r} touches {[m[0] for m in members]}, the "
                f"model's group touches {[m.name for m in group.members]}: the permutation "
                "is for another model."
            )
    return found


def unit_index(perm: Tensor, block: int) -> Tensor:
    """(n * block,) indices that move block i of an axis to where perm says."""
    if block == 1:
        return perm
    return (perm[:, None] * block + torch.arange(block)).reshape(-1)


def parameter_distance(a: nn.Module, b: nn.Module) -> float:
    """The L2 distance between the flat trainable parameter vectors of two models of one
    architecture (same parameter names and shapes), in float64."""
    layouts = (ParamLayout.of(a), ParamLayout.of(b))
    if layouts[0] != layouts[1]:
        raise LosslabError(
            f"the models have different parameters ({layouts[0].n_params} and "
            f"{layouts[1].n_params} numbers, or other names/shapes): the distance needs "
            "two models of one architecture."
        )
    va, vb = (model_vector(m).to(torch.float64) for m in (a, b))
    return float(torch.linalg.vector_norm(va - vb.to(va.device)))


def _tensors(model: nn.Module) -> dict[str, Tensor]:
    tensors: dict[str, Tensor] = dict(model.named_parameters())
    tensors.update(model.named_buffers())
    return tensors


def _check_consistent(p: Permutation) -> None:
    """What a valid Permutation satisfies (checked on build and on load)."""
    if not (len(p.groups) == len(p.perms) == len(p.members)):
        raise LosslabError(
            f"a permutation has {len(p.groups)} group names, {len(p.perms)} orders and "
            f"{len(p.members)} member lists: they must be as many."
        )
    if len(set(p.groups)) != len(p.groups):
        raise LosslabError(f"permutation group names {p.groups} repeat: they must be unique.")
    seen: set[tuple[str, int]] = set()
    for name, perm, members in zip(p.groups, p.perms, p.members, strict=True):
        if perm.ndim != 1 or perm.dtype != torch.int64:
            raise LosslabError(
                f"group {name!r}: the order is {perm.dtype} of shape {tuple(perm.shape)}, "
                "must be a 1-D int64 tensor."
            )
        if not torch.equal(torch.sort(perm.cpu()).values, torch.arange(perm.numel())):
            raise LosslabError(
                f"group {name!r}: the order is not a permutation of 0..{perm.numel() - 1} "
                "(each unit exactly once)."
            )
        if not members:
            raise LosslabError(f"group {name!r} has no members: it must index some tensor.")
        for member in members:
            tensor, axis, block = member
            if axis < 0 or block < 1 or not tensor:
                raise LosslabError(
                    f"group {name!r}: member {tuple(member)} must be (a tensor name, an axis "
                    ">= 0, a block >= 1)."
                )
            if (tensor, axis) in seen:
                raise LosslabError(
                    f"axis {axis} of {tensor!r} belongs to two groups: a tensor axis can "
                    "follow one permutation only."
                )
            seen.add((tensor, axis))


__all__ = [
    "Permutation",
    "check_fits",
    "from_groups",
    "parameter_distance",
    "permute",
    "random_permutation",
    "unit_index",
]
