"""Weight matching as the commands use it (`losslab match`, `losslab connect --align`): the
permutation, the aligned model and the distances before and after, and the tables that show
a Permutation's groups."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from rich.table import Table
from torch import nn

from losslab.cli.render import number


@dataclass(frozen=True)
class Matching:
    """Model B aligned to model A: `aligned` = permute(B, permutation); the parameter
    distances |a - b| (`before`) and |a - aligned| (`after`); the matching's wall time."""

    permutation: object  # losslab.symmetry.Permutation
    aligned: nn.Module
    before: float
    after: float
    seconds: float

    def summary(self) -> str:
        p = self.permutation
        passes = f"{p.n_iterations} pass{'es' if p.n_iterations != 1 else ''}"
        return (
            f"weight matching: parameter distance {number(self.before, 5)} -> "
            f"{number(self.after, 5)} ({100 * (1 - self.after / self.before):.1f}% closer); "
            f"{p.n_moved} of {sum(p.sizes)} units moved in {len(p)} groups, {passes}, "
            f"{self.seconds:.2f} s"
            if self.before > 0
            else f"weight matching: the two models are equal ({passes}, {self.seconds:.2f} s)"
        )


def match(model_a: nn.Module, model_b: nn.Module, *, max_iter: int, seed: int) -> Matching:
    """weight_matching(A, B), B permuted by it, and the distances before and after."""
    from losslab.symmetry import parameter_distance, permute, weight_matching

    started = time.perf_counter()
    permutation = weight_matching(model_a, model_b, max_iter=max_iter, seed=seed)
    seconds = time.perf_counter() - started
    aligned = permute(model_b, permutation)
    return Matching(
        permutation,
        aligned,
        parameter_distance(model_a, model_b),
        parameter_distance(model_a, aligned),
        seconds,
    )


def groups_table(permutation, title: str) -> Table:
    """One row per group: its name, units, how many the permutation moves, and the
    parameters and buffers it reorders (name[axis])."""
    table = Table(title=title, title_justify="left")
    table.add_column("group")
    table.add_column("units", justify="right")
    table.add_column("moved", justify="right")
    table.add_column("reorders", overflow="fold")
    for name, perm, members in zip(
        permutation.groups, permutation.perms, permutation.members, strict=True
    ):
        moved = int((perm != torch.arange(perm.numel())).sum())
        tensors = ", ".join(
            f"{tensor}[{axis}{f' x{block}' if block > 1 else ''}]"
            for tensor, axis, block in members
        )
        table.add_row(name, str(perm.numel()), str(moved), tensors)
    return table
