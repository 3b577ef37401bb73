"""The local executor: units one after another in this process, in order.

Each unit already uses every core (a network objective spreads its points over the worker
pool, `losslab.objectives.pool`), so running units side by side here would only split the
same cores. This is what every computation did before executors existed, errors included:
a unit's exception reaches the caller as it was raised, with its traceback into the user's
model (a process boundary is what makes the Ray executor wrap it in `UnitFailed`).
"""

from __future__ import annotations

from losslab.executors.base import Executor


class LocalExecutor(Executor):
    name = "local"

    def run(self, work, shared, units, on_result, *, describe=None) -> None:
        for index, unit in enumerate(units):
            on_result(index, work(shared, unit))
