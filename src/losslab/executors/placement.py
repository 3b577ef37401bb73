"""Where a unit's torch work runs: the device an executor assigned to the running task.

A Ray task with `gpus_per_task` runs with the GPU Ray gave it visible as "cuda"; objectives
built on the driver (often a machine without a GPU) are moved there by the unit (see
`landscapes.compute._run_chunk`). Outside such a task, `device()` is None: compute where the
objective already is.
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
