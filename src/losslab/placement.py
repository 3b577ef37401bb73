"""Where a unit's torch work runs: the device an executor assigned to the running task.

A Ray task with `gpus_per_task` runs with the GPU Ray gave it visible as "cuda". A network
objective built on the driver (often a machine without a GPU) is unpickled in the task by
building it again from its recipe (`ModelObjective.__reduce__`), on that device: model and
data then live on the task's GPU. Outside such a task, `device()` is None: compute where the
objective already is. (Plumbing at the bottom of the layers, so objectives can read it.)
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_DEVICE: contextvars.ContextVar[str | None] = contextvars.ContextVar("losslab_device", default=None)


def device() -> str | None:
    """The device the running task was given, or None (stay where the objective is)."""
    return _DEVICE.get()


@contextlib.contextmanager
def on_device(name: str | None) -> Iterator[None]:
    token = _DEVICE.set(name)
    try:
        yield
    finally:
        _DEVICE.reset(token)
