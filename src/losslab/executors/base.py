"""What an executor is: something that runs independent units of work and hands back results.

A computation that splits into independent units (a chunk of grid points, a batch of curvature
probes, one width and seed of a sweep) states a unit as a plain function of plain data,

    work(shared, unit) -> result     # module level, so it travels by reference, not by value

and lets an executor run the units:

    executor.run(work, shared, units, on_result)     # on_result(index, result), in this thread

`shared` is what every unit reads (the objective, the origin and directions as numpy arrays):
an executor sends it once, not once per unit. `units` are small (two ints, a seed). Results
arrive in completion order; `on_result` runs in the calling thread (the driver), so a result
file is written by one process only, whichever executor ran the units. When `on_result`
raises, or Ctrl-C arrives, the executor starts no further unit and re-raises (a few units
already in flight may finish unseen); what `on_result` already received is the caller's to
keep. A unit that raises becomes one `UnitFailed` naming it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from losslab.errors import LosslabError

Work = Callable[[Any, Any], Any]
OnResult = Callable[[int, Any], Any]


class UnitFailed(LosslabError):
    """A unit of work raised: `index` and `unit` say which; `cause` is its error."""

    def __init__(self, index: int, what: str, cause: BaseException):
        self.index, self.what, self.cause = index, what, cause
        text = str(cause).strip()
        detail = text.splitlines()[0] if text else ""
        reason = f"{type(cause).__name__}: {detail}" if detail else type(cause).__name__
        super().__init__(f"{what} failed: {reason}")


class Executor(ABC):
    """Runs units of work; see the module's docstring for the contract."""

    name: str = "executor"

    @abstractmethod
    def run(
        self,
        work: Work,
        shared: Any,
        units: Sequence[Any],
        on_result: OnResult,
        *,
        describe: Callable[[int, Any], str] | None = None,
    ) -> None:
        """Run `work(shared, unit)` for every unit; call `on_result(index, result)` in this
        thread as each finishes. `describe(index, unit)` names a unit in errors
        (default "unit <index>")."""


def unit_name(describe, index: int, unit) -> str:
    return describe(index, unit) if describe is not None else f"unit {index}"
