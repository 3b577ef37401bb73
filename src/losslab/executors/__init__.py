"""Executors: how the independent units of a computation are run (`base.py` says the contract).

    executor_of(None) / executor_of("local")   the units in this process, one after another
    executor_of("ray", address="auto")         each unit a Ray task (the `losslab[ray]` extra)
    executor_of(RayExecutor(...))              an executor made beforehand, as it is

`import losslab` never imports Ray: `RayExecutor` imports it when one is made, and refuses
in one line when it is missing.
"""

from __future__ import annotations

from typing import Any

from losslab.errors import LosslabError
from losslab.executors.base import Executor, UnitFailed
from losslab.executors.local import LocalExecutor
from losslab.executors.on_ray import RayExecutor  # Ray itself is imported by its constructor

NAMES = ("local", "ray")

__all__ = ["NAMES", "Executor", "LocalExecutor", "RayExecutor", "UnitFailed", "executor_of"]


def executor_of(executor: Any = None, **options: Any) -> Executor:
    """An `Executor` from a name ("local", "ray"), an executor, or None ("local").
    options go to the executor's constructor (for "ray": address, cpus_per_task,
    gpus_per_task, max_retries, init_options)."""
    if isinstance(executor, Executor):
        if options:
            raise LosslabError(
                f"options {sorted(options)} were given with a ready-made executor: set them "
                "when making it."
            )
        return executor
    if executor is None or executor == "local":
        if options:
            raise LosslabError(
                f"options {sorted(options)} do not apply to the local executor; they are "
                "for executor='ray'."
            )
        return LocalExecutor()
    if executor == "ray":
        return RayExecutor(**options)
    raise LosslabError(
        f"executor == {executor!r}, must be one of {list(NAMES)} or a losslab Executor."
    )
