"""Descent: run an optimizer on an objective from one start or a batch of starts, or race
several optimizers from the same start(s) (a `Race`, the result `losslab race` saves).

All starts move together in one vectorized loop. A run stops (its row is frozen at its last
good point) when its gradient norm falls below `tol` (converged) or when a step would leave
the finite world or the objective's divergence bound (diverged). Nothing non-finite is ever
recorded, the status of every run says why it stopped, and recording ends with the last run:
a path has max(stopped_at) + 1 rows, not n_steps + 1, when every run stopped early.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab import budget
from losslab._checks import check_count, check_non_negative, check_positive
from losslab.errors import LosslabError
from losslab.objectives.base import Objective
from losslab.objectives.surfaces import Surface, as_params
from losslab.optim.base import Optimizer
from losslab.results import Result, summary
from losslab.results.kinds import FloatArray

RUNNING, CONVERGED, DIVERGED = "max_steps", "converged", "diverged"


@dataclass(frozen=True)
class Trajectory(Result):
    """The path of one run, or of a batch of runs side by side.

    params:     (n_rows, n_params)   or (n_rows, n_starts, n_params)
    losses:     (n_rows,)            or (n_rows, n_starts)
    grad_norms: same shape as losses
    status:     "converged" | "diverged" | "max_steps", or a tuple of those per start
    stopped_at: the last row the run really visited (the steps it was given if it never
        stopped), or a tuple; a diverged run's next step left the finite world or the bound.
    n_rows = max(stopped_at) + 1: recording ends when the last run stops, so a run that
    converged after 30 of 10^6 steps holds 31 rows. In a batch, a run's rows after its own
    `stopped_at` repeat that last point, so nothing non-finite is ever recorded.
    """

    result_type = "trajectory"

    params: FloatArray
    losses: FloatArray
    grad_norms: FloatArray
    status: str | tuple[str, ...]
    stopped_at: int | tuple[int, ...]
    optimizer: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    objective: str = ""
    tol: float = 0.0

    def __repr__(self) -> str:
        losses, parts = self.losses, {"optimizer": self.optimizer, "objective": self.objective}
        if losses.ndim == 1:
            parts["status"] = self.status
            change = f"{summary.number(losses[0])} -> {summary.number(losses[-1])}"
        else:  # a batch of runs: how many ended how, and where their losses ended
            counts = {s: self.status.count(s) for s in dict.fromkeys(self.status)}
            parts["status"] = counts
            parts["n_starts"] = losses.shape[1]
            change = f"final in {summary.span(losses[-1])}"
        parts |= {"n_rows": losses.shape[0], "n_params": self.params.shape[-1]}
        return summary.compose("Trajectory", **parts, loss=summary.raw(change))

    def __post_init__(self):
        # What the properties below rely on; a file that breaks it is refused on loading.
        shape = tuple(self.params.shape)
        if len(shape) not in (2, 3) or shape[0] < 1:
            raise LosslabError(
                f"params must be (rows, n_params) or (rows, n_starts, n_params), got {shape}."
            )
        for name in ("losses", "grad_norms"):
            if tuple(getattr(self, name).shape) != shape[:-1]:
                raise LosslabError(
                    f"{name} has shape {tuple(getattr(self, name).shape)}, params {shape}."
                )
        per_run = len(shape) == 3
        status = self.status if per_run else (self.status,)
        stopped = self.stopped_at if per_run else (self.stopped_at,)
        n_runs = shape[1] if per_run else 1
        if not isinstance(status, tuple) or len(status) != n_runs:
            raise LosslabError(f"status must be {'one per start' if per_run else 'a string'}.")
        unknown = [s for s in status if s not in _STATUS_NAMES]
        if unknown:
            raise LosslabError(
                f"status {unknown[0]!r} is not one of {', '.join(map(repr, _STATUS_NAMES))}."
            )
        if not isinstance(stopped, tuple) or len(stopped) != n_runs:
            raise LosslabError(f"stopped_at must be {'one per start' if per_run else 'a row'}.")
        if not all(isinstance(s, int) and 0 <= s < shape[0] for s in stopped):
            raise LosslabError(f"stopped_at must be rows from 0 to {shape[0] - 1}.")

    @property
    def batched(self) -> bool:
        return self.params.ndim == 3

    @property
    def n_steps(self) -> int:
        """Steps recorded: rows - 1 (the last run's stopped_at), at most the steps given."""
        return self.params.shape[0] - 1

    @property
    def n_starts(self) -> int:
        return self.params.shape[1] if self.batched else 1

    @property
    def label(self) -> str:
        args = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in self.hyperparameters.items()
        )
        return f"{self.optimizer}({args})"

    def run(self, index: int) -> Trajectory:
        """One run of a batch as an unbatched Trajectory."""
        if not self.batched:
            if index != 0:
                raise LosslabError(f"index == {index}, an unbatched trajectory has only run 0.")
            return self
        return Trajectory(
            self.params[:, index],
            self.losses[:, index],
            self.grad_norms[:, index],
            self.status[index],
            self.stopped_at[index],
            self.optimizer,
            self.hyperparameters,
            self.objective,
            self.tol,
        )

    def runs(self) -> list[Trajectory]:
        return [self.run(i) for i in range(self.n_starts)]

    def path(self) -> Tensor:
        """The points actually visited by an unbatched run: (stopped_at + 1, n_params).

        A batch has one path per run, of different lengths: take `run(i).path()`."""
        if self.batched:
            raise LosslabError(
                f"path() of a batch of {self.n_starts} runs: each has its own length, "
                "take trajectory.run(i).path()."
            )
        return self.params[: int(self.stopped_at) + 1]

    # Per-run facts. For a batch they are (n_starts,) tensors, one entry per run, so that
    # `if batch.diverged:` fails loudly (a tensor of several values has no truth value)
    # instead of answering for run 0; use `.any()`, `.all()` or index them.

    @property
    def diverged(self) -> bool | Tensor:
        """True if the run diverged; a bool tensor (n_starts,) for a batch."""
        return self._per_run(lambda status: status == DIVERGED)

    @property
    def converged(self) -> bool | Tensor:
        """True if the run converged; a bool tensor (n_starts,) for a batch."""
        return self._per_run(lambda status: status == CONVERGED)

    @property
    def final_loss(self) -> float | Tensor:
        """The last recorded loss; a tensor (n_starts,) of them for a batch."""
        return self.losses[-1].clone() if self.batched else float(self.losses[-1])

    def _per_run(self, test) -> bool | Tensor:
        if not self.batched:
            return test(self.status)
        return torch.tensor([test(status) for status in self.status], dtype=torch.bool)


@dataclass(frozen=True, eq=False)
class Race(Result, Sequence[Trajectory]):
    """One trajectory per optimizer, in the order they were raced, from the same start.

    trajectories: each of params (n_steps + 1, n_params) [or batched, see Trajectory].
    objective: the objective's name; formula: its formula ("" when it has none).
    start: (n_params,) the common start, or (n_starts, n_params) for a batch of starts;
    n_steps: the steps each optimizer was given.
    Indexing, iterating, len and unpacking work as on the list of trajectories.
    """

    result_type = "race"

    trajectories: tuple[Trajectory, ...]
    objective: str = ""
    formula: str = ""
    start: tuple[float, ...] | tuple[tuple[float, ...], ...] = ()
    n_steps: int = 0

    def __post_init__(self):
        runs = tuple(self.trajectories)
        wrong = [type(t).__name__ for t in runs if not isinstance(t, Trajectory)]
        if not runs or wrong:
            raise LosslabError(
                f"a race holds one or more Trajectory objects, got {len(runs)} with "
                f"{', '.join(wrong) or 'none'} among them."
            )
        object.__setattr__(self, "trajectories", runs)
        start = torch.as_tensor(self.start, dtype=torch.float64).tolist()  # floats or rows
        start = [start] if isinstance(start, float) else start
        rows = tuple(tuple(x) if isinstance(x, list) else x for x in start)
        object.__setattr__(self, "start", rows)

    def __len__(self) -> int:
        return len(self.trajectories)

    def __getitem__(self, index):
        return self.trajectories[index]

    def __repr__(self) -> str:
        names = summary.raw(f"[{', '.join(t.optimizer for t in self.trajectories)}]")
        return summary.compose(
            "Race", repr(self.objective), names, start=self.start, n_steps=self.n_steps
        )


@dataclass(frozen=True)
class _Final:
    """What a run without history returns: the last point, loss, status and stop step per start."""

    params: Tensor  # (n_starts, n_params)
    losses: Tensor  # (n_starts,)
    status: Tensor  # (n_starts,) int: 0 running, 1 converged, 2 diverged
    stopped_at: Tensor  # (n_starts,) int64


_STATUS_NAMES = (RUNNING, CONVERGED, DIVERGED)


def descend(
    objective: Objective,
    optimizer: Optimizer,
    start,
    n_steps: int,
    *,
    tol: float = 1e-8,
    bound: float | None = None,
) -> Trajectory:
    """Run `optimizer` on `objective` for `n_steps` from `start`.

    start: (n_params,) for one run, or (n_starts, n_params) for a batch run in one loop.
    tol: a run has converged when its gradient norm is <= tol (0 disables the check).
    bound: a run whose max |coordinate| exceeds it has diverged (default: the objective's
        `divergence_bound`, 100x its plotting window for a surface).
    """
    return race(objective, [optimizer], start, n_steps, tol=tol, bound=bound)[0]


def race(
    objective: Objective,
    optimizers: Sequence[Optimizer],
    start,
    n_steps: int,
    *,
    tol: float = 1e-8,
    bound: float | None = None,
) -> Race:
    """Several optimizers from the same start(s), in lockstep: a Race, one Trajectory per
    optimizer (it indexes, iterates and unpacks like the list of them, and saves as one file).

    All runs share one batched objective call per step, so a race of k optimizers costs about
    as much as one run. Each trajectory equals what `descend` gives for that optimizer alone.
    """
    if not optimizers:
        raise LosslabError("optimizers is empty: give at least one optimizer.")
    starts, batched = _as_starts(objective, start)
    check_count("n_steps", n_steps)
    _check_recording("race", n_steps, len(optimizers) * starts.shape[0], objective.n_params)
    _check_steps("race", n_steps)
    history: list[tuple[Tensor, Tensor, Tensor]] = []
    final = _run(
        objective,
        optimizers,
        starts,
        n_steps,
        tol=tol,
        bound=bound,
        record=lambda p, v, g: history.append((p, v, g)),
    )
    params, losses, grad_norms = (torch.stack(column) for column in zip(*history, strict=True))
    n_starts = starts.shape[0]
    trajectories = []
    for g, optimizer in enumerate(optimizers):
        rows = slice(g * n_starts, (g + 1) * n_starts)
        status = tuple(_STATUS_NAMES[int(s)] for s in final.status[rows])
        stopped_at = tuple(int(s) for s in final.stopped_at[rows])
        # Each optimizer's path ends with its own last run: what `descend` alone records.
        steps = slice(0, max(stopped_at) + 1)
        p, v, n = params[steps, rows], losses[steps, rows], grad_norms[steps, rows]
        if not batched:
            p, v, n, status, stopped_at = p[:, 0], v[:, 0], n[:, 0], status[0], stopped_at[0]
        trajectories.append(
            Trajectory(
                p,
                v,
                n,
                status,
                stopped_at,
                optimizer.name,
                dict(optimizer.hyperparameters),
                objective.name,
                tol,
            )
        )
    formula = objective.formula if isinstance(objective, Surface) else ""
    common = starts if batched else starts[0]
    return Race(tuple(trajectories), objective.name, formula, common, n_steps)


def _check_steps(what: str, n_steps: int) -> None:
    check_count("n_steps", n_steps)
    budget.require_at_most(what, "n_steps", n_steps, budget.MAX_STEPS, "steps per run")


def _check_recording(what: str, n_steps: int, n_runs: int, n_params: int) -> None:
    """The recorded path at its longest: (n_steps + 1) rows of n_runs x (n_params + 2)
    float64 (params, loss, gradient norm), held twice (the rows, then their stacked copy)."""

    def cost(steps: int) -> int:
        return 2 * (steps + 1) * n_runs * (n_params + 2) * budget.FLOAT64

    detail = f"{n_steps + 1} rows x {n_runs} runs x {n_params + 2} float64 numbers, twice"
    budget.require_memory(what, "n_steps", n_steps, cost, detail, at_most=budget.MAX_STEPS)


def _as_starts(objective: Objective, start) -> tuple[Tensor, bool]:
    starts = as_params(start)
    n = objective.n_params
    if starts.ndim == 0 and n == 1:
        starts = starts.reshape(1)
    if starts.ndim not in (1, 2) or starts.shape[-1] != n:
        raise LosslabError(
            f"start of shape {tuple(starts.shape)} does not fit an objective with {n} "
            f"parameter(s): give shape ({n},) or (n_starts, {n})."
        )
    if not torch.isfinite(starts).all():
        raise LosslabError("start contains nan or inf: every coordinate must be finite.")
    return (starts if starts.ndim == 2 else starts.unsqueeze(0)), starts.ndim == 2


def _run(
    objective: Objective,
    optimizers: Sequence[Optimizer],
    starts: Tensor,
    n_steps: int,
    *,
    tol: float,
    bound: float | None,
    record=None,
) -> _Final:
    """The vectorized loop over G = len(optimizers) groups of S = len(starts) rows.

    Rows [g*S, (g+1)*S) start at `starts` (S, n) and follow optimizer g. `record(params,
    losses, grad_norms)` sees every step's (G*S, n), (G*S,), (G*S,) tensors.
    """
    check_count("n_steps", n_steps)  # the callers also price and cap it
    tol = check_non_negative("tol", tol)
    bound = objective.divergence_bound if bound is None else check_positive("bound", bound)

    group = starts.shape[0]
    params = starts.repeat(len(optimizers), 1)
    values, grads = objective.value_and_grad(params)
    n_starts = params.shape[0]
    status = torch.zeros(n_starts, dtype=torch.int8)
    stopped_at = torch.full((n_starts,), n_steps, dtype=torch.int64)
    if not (torch.isfinite(values).all() and torch.isfinite(grads).all()):
        raise LosslabError("the objective is not finite at the start: choose another start.")
    states = [optimizer.init(starts) for optimizer in optimizers]
    # The loop runs while some run is going, so every row it records is needed (row step - 1
    # is the point of the runs still going or converging now). A step costs ~20 tiny tensor ops
    # whose dispatch, not arithmetic, is the time: `all_active` (a Python bool) skips the
    # per-row bookkeeping while no run has stopped, the common case of one start.
    active = torch.ones(n_starts, dtype=torch.bool)  # status == 0
    all_active = True
    limits = _limits(params.shape[-1], bound, values.dtype, grads.dtype, params.dtype)
    for step in range(1, n_steps + 1):
        grad_norms = torch.linalg.vector_norm(grads, dim=-1)
        converged = grad_norms <= tol if all_active else active & (grad_norms <= tol)
        if converged.any():
            status[converged], stopped_at[converged] = 1, step - 1
            active, all_active = active & ~converged, False
        if record is not None:
            record(params, values, grad_norms)
        if not (all_active or active.any()):
            break
        candidate = params + _updates(objective, optimizers, states, grads, params, active, group)
        new_values, new_grads = objective.value_and_grad(candidate)
        # ok: point within the bound, value and gradient finite, in one comparison (NaN
        # fails it), so `~ok` is "non-finite or beyond the bound".
        every = torch.cat((candidate, new_values.unsqueeze(-1), new_grads), -1)
        ok = (every.abs() <= limits).all(-1)
        if all_active and ok.all():  # nothing stopped: take the step everywhere
            params, values, grads = candidate, new_values, new_grads
            continue
        moving = active & ok
        diverged = active & ~ok
        status[diverged], stopped_at[diverged] = 2, step - 1
        active, all_active = moving, False
        params = torch.where(moving.unsqueeze(-1), candidate, params)
        values = torch.where(moving, new_values, values)
        grads = torch.where(moving.unsqueeze(-1), new_grads, grads)
    else:  # the loop ran out: row n_steps is the last point of the runs still going
        grad_norms = torch.linalg.vector_norm(grads, dim=-1)
        converged = active & (grad_norms <= tol)
        status[converged] = 1
        if record is not None and active.any():
            record(params, values, grad_norms)
    return _Final(params, values, status, stopped_at)


def _limits(n: int, bound: float, *dtypes: torch.dtype) -> Tensor:
    """(2n + 1,) the largest |value| allowed in a row of [point (n), value, gradient (n)] (of
    the dtype they concatenate to): the bound for the point (and nothing infinite), the
    largest finite number for the rest (|x| <= it says "x is finite")."""
    dtype = functools.reduce(torch.promote_types, dtypes)
    largest = torch.finfo(dtype).max
    return torch.tensor([min(bound, largest)] * n + [largest] * (n + 1), dtype=dtype)


def _updates(objective, optimizers, states, grads, params, active, group) -> Tensor:
    """Every optimizer's step for its rows, (G*S, n); `states` is updated in place."""
    updates = []
    for g, optimizer in enumerate(optimizers):
        rows = slice(g * group, (g + 1) * group) if len(optimizers) > 1 else slice(None)
        if optimizer.needs_hessian and not active[rows].any():
            updates.append(torch.zeros_like(params[rows]))  # all stopped: skip the Hessian
            continue
        extra = {"hessian": objective.hessian(params[rows])} if optimizer.needs_hessian else {}
        update, states[g] = optimizer.update(grads[rows], states[g], params[rows], **extra)
        updates.append(update)
    return updates[0] if len(updates) == 1 else torch.cat(updates)
