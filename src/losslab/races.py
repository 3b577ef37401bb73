"""`Race`: several optimizers run from one start on one objective, as one result.

`losslab.race(...)` computes the trajectories (descent.py); a `Race` keeps them together with
what they ran on, so a race saved by `losslab race --out race.json` loads back whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from losslab.descent import Trajectory
from losslab.errors import LosslabError
from losslab.results import Result


@dataclass(frozen=True, eq=False)
class Race(Result, Sequence[Trajectory]):
    """One trajectory per optimizer, in the order they were raced, from the same start.

    trajectories: each of params (n_steps + 1, n_params) [or batched, see Trajectory].
    objective: the objective's name; formula: its formula ("" when it has none).
    start: (n_params,) the common start; n_steps: the steps each optimizer was given.
    Indexing and iterating give the trajectories.
    """

    result_type = "race"

    trajectories: tuple[Trajectory, ...]
    objective: str = ""
    formula: str = ""
    start: tuple[float, ...] = ()
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
        object.__setattr__(self, "start", tuple(float(x) for x in self.start))

    def __len__(self) -> int:
        return len(self.trajectories)

    def __getitem__(self, index):
        return self.trajectories[index]

    def __repr__(self) -> str:
        names = ", ".join(t.optimizer for t in self.trajectories)
        return f"Race({self.objective!r}, [{names}], start={self.start}, n_steps={self.n_steps})"
