"""Permutation symmetry of networks: reorder hidden units without changing the function, and
undo that freedom between two trained networks (Git Re-Basin weight matching).

    >>> from losslab import symmetry
    >>> symmetry.permutation_groups(model)        # the hidden-unit groups, with their tensors
    >>> p = symmetry.random_permutation(model, seed=0)
    >>> twin = symmetry.permute(model, p)         # same outputs, weights far away:
    >>> symmetry.parameter_distance(model, twin)
    >>> q = symmetry.weight_matching(model, twin) # recovers p.inverse()
    >>> p.save("p.json"); symmetry.Permutation.load("p.json")

Layout: groups.py finds the groups (a torch.fx trace followed unit by unit; ops.py says what
units may pass through), permutation.py holds the Permutation result and applies it,
matching.py is weight matching (scipy's linear_sum_assignment, imported when called).
"""

from losslab.symmetry.groups import Group, Member, permutation_groups
from losslab.symmetry.matching import weight_matching
from losslab.symmetry.permutation import (
    Permutation,
    from_groups,
    parameter_distance,
    permute,
    random_permutation,
)

__all__ = [
    "Group",
    "Member",
    "Permutation",
    "from_groups",
    "parameter_distance",
    "permutation_groups",
    "permute",
    "random_permutation",
    "weight_matching",
]
