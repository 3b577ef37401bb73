"""The Ray executor: each unit a Ray task, on this machine or on a cluster.

    RayExecutor(address=None, cpus_per_task=1, gpus_per_task=0)

Why Ray (and not MPI, as the first landscape tools did): units are independent, so a task
that dies with its worker is simply run again (`max_retries`) while every other result
stands; nothing holds a lock on the result file, which only the driver writes.

How data travels. `shared` is put in Ray's object store ONCE (again only when a later `run`
gets another object: Hutch++'s three phases share one); each task receives a reference to it
(boxed in a list, so Ray does not resolve it per task) and a worker process deserializes it
once, then keeps it for the following tasks (`_shared_of`).
Torch CPU tensors are serialized as numpy arrays (`_register_tensors`): Ray stores numpy
arrays so that every worker on a node maps the same shared memory instead of copying them,
and `torch.from_numpy` wraps them again in the task. Tasks only read them.

Threads. A task runs torch with floor(cpus_per_task) intra-op threads, at least 1 (the losslab
worker pool sizes itself from that), so tasks side by side do not oversubscribe the cores Ray
gave them. With `gpus_per_task` (a fraction shares a GPU), a network objective is built on the
task's GPU (`losslab.placement`).
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

from losslab import placement
from losslab.errors import LosslabError
from losslab.executors.base import Executor, UnitFailed, unit_name

MISSING = (
    "executor='ray' needs Ray, which is not installed: pip install 'losslab[ray]' "
    "(or pip install ray)."
)
WAIT_SECONDS = 0.2  # the driver wakes this often while waiting, so Ctrl-C is seen at once
_SHARED: dict[str, Any] = {}  # in a worker process: the shared data of the current run


def import_ray():
    """The ray module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise LosslabError(MISSING) from None
    return ray


class RayExecutor(Executor):
    """Units as Ray tasks. address: None starts (or joins) a Ray instance on this machine;
    "auto" or "HOST:PORT" joins a running cluster. cpus_per_task, gpus_per_task: what each
    task reserves (fractions allowed for GPUs). max_retries: how often a task whose worker
    died is run again. init_options: extra keyword arguments for `ray.init`.
    by_value: name prefixes of modules that workers cannot import (code loaded from a file by
    path, as the CLI loads `--model net.py:make`): they travel inside the pickles instead."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_task: float = 1,
        gpus_per_task: float = 0,
        max_retries: int = 3,
        init_options: dict[str, Any] | None = None,
        by_value: tuple[str, ...] = (),
    ):
        for label, value in (("cpus_per_task", cpus_per_task), ("gpus_per_task", gpus_per_task)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise LosslabError(f"{label} == {value!r}, must be a number >= 0.")
        if gpus_per_task > 1 and gpus_per_task != int(gpus_per_task):
            raise LosslabError(
                f"gpus_per_task == {gpus_per_task!r}: above 1 it must be a whole number."
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise LosslabError(f"max_retries == {max_retries!r}, must be an integer >= 0.")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise LosslabError(f"address == {address!r}, must be 'auto', 'HOST:PORT' or None.")
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self.max_retries = max_retries
        self.init_options = dict(init_options or {})
        self.by_value = tuple(by_value)
        self.startup_seconds = 0.0  # time `start` spent in ray.init (0 when already running)
        self._put: tuple[Any, Any] | None = None  # (the last shared object, its reference)
        self._ray = import_ray()  # refused here, before any work, when Ray is missing

    def start(self) -> None:
        """Connect to Ray (start it on this machine when address is None) unless connected."""
        ray = self._ray
        if ray.is_initialized():
            return
        began = time.perf_counter()
        options = {"include_dashboard": False, "logging_level": "ERROR", **self.init_options}
        try:
            ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = "on this machine" if self.address is None else f"at '{self.address}'"
            raise LosslabError(f"could not start or reach Ray {where}: {error}") from None
        self.startup_seconds = time.perf_counter() - began

    def run(self, work, shared, units, on_result, *, describe=None) -> None:
        ray = self._ray
        self.start()
        _register_tensors(ray)
        _ship_by_value(self.by_value)
        task = ray.remote(_run_task).options(
            num_cpus=self.cpus_per_task,
            num_gpus=self.gpus_per_task,
            max_retries=self.max_retries,
            retry_exceptions=False,  # a unit that raises would raise again: report it
        )
        threads = max(1, math.floor(self.cpus_per_task))
        if self._put is None or self._put[0] is not shared:
            self._put = (shared, ray.put(shared))
        box = [self._put[1]]  # a list, so that tasks get the reference, not a copy
        waiting = iter(enumerate(units))
        window = self._window()
        pending: dict = {}

        def submit() -> None:  # keep `window` tasks in flight: every slot busy, one queued
            for index, unit in itertools.islice(waiting, window - len(pending)):
                pending[task.remote(work, box, unit, threads, self.gpus_per_task > 0)] = index

        submit()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_SECONDS)
            for ref in done:
                index = pending.pop(ref)
                try:
                    result = self._result(ref, index, units[index], describe)
                except LosslabError:
                    self._keep_finished(pending, units, on_result, describe)
                    raise
                on_result(index, result)
            submit()
        # On Ctrl-C or an error the units not yet submitted are never submitted, and the few
        # in flight finish on their own (their results are dropped). They are not cancelled:
        # ray.cancel racing a task's completion aborts the driver inside Ray's core worker
        # (task_manager.cc "Check failed: it != submissible_tasks_.end()", Ray 2.60, seen
        # here on 3 of 11 Ctrl-C tries), and exiting the driver ends its tasks anyway.

    def _window(self) -> int:
        """Tasks in flight at once: twice the tasks the cluster can run side by side."""
        resources = self._ray.cluster_resources()
        slots = []
        if self.cpus_per_task > 0:
            slots.append(resources.get("CPU", 1) / self.cpus_per_task)
        if self.gpus_per_task > 0:
            slots.append(resources.get("GPU", 0) / self.gpus_per_task)
        return max(2, 2 * math.floor(min(slots) if slots else resources.get("CPU", 1)))

    def _keep_finished(self, pending: dict, units, on_result, describe) -> None:
        """Before a unit's error is raised: hand over the units that finished meanwhile, so
        the caller keeps them (a resumable file then holds every one of them)."""
        ready, _ = self._ray.wait(list(pending), num_returns=len(pending), timeout=0)
        for ref in ready:
            index = pending.pop(ref)
            try:
                result = self._result(ref, index, units[index], describe)
            except LosslabError:
                continue  # a second failure: the first one is reported
            on_result(index, result)

    def _result(self, ref, index: int, unit, describe):
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as error:
            cause = error.cause if isinstance(error.cause, BaseException) else error
            if isinstance(cause, LosslabError):  # already one line: keep it, name the unit
                raise LosslabError(f"{unit_name(describe, index, unit)}: {cause}") from None
            raise UnitFailed(index, unit_name(describe, index, unit), cause) from None
        except ray.exceptions.RayError as error:  # a worker lost more often than max_retries
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise LosslabError(
                f"{unit_name(describe, index, unit)} was lost by Ray "
                f"({type(error).__name__}: {first}); finished units are kept."
            ) from None


def _run_task(work, box, unit, threads: int, on_gpu: bool):
    """A Ray task: `work(shared, unit)` with this task's threads and device."""
    import torch

    torch.set_num_threads(threads)
    with placement.on_device("cuda" if on_gpu else None):
        return work(_shared_of(box[0]), unit)


def _shared_of(ref):
    """The run's shared data, fetched from the object store once per worker process."""
    key = ref.hex()
    if key not in _SHARED:
        import ray

        _SHARED.clear()  # one run at a time per worker: drop the last run's data
        _SHARED[key] = ray.get(ref)
    return _SHARED[key]


def _ship_by_value(prefixes: tuple[str, ...]) -> None:
    """Pickle the loaded modules named with these prefixes by value (see `by_value`)."""
    if not prefixes:
        return
    import sys

    from ray import cloudpickle

    for name, module in list(sys.modules.items()):
        if name.startswith(prefixes):
            cloudpickle.register_pickle_by_value(module)


_REGISTERED = False


def _register_tensors(ray) -> None:
    """Send torch CPU tensors as numpy arrays (see the module docstring)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import torch

    ray.util.register_serializer(torch.Tensor, serializer=_pack, deserializer=_unpack)
    _REGISTERED = True


def _pack(tensor):
    import torch

    tensor = tensor.detach()
    if tensor.device.type == "cpu" and tensor.dtype != torch.bfloat16:  # numpy has no bfloat16
        return ("numpy", tensor.contiguous().numpy())
    import io

    buffer = io.BytesIO()
    torch.save(tensor.cpu(), buffer)
    return ("torch", buffer.getvalue())


def _unpack(packed):
    import io
    import warnings

    import torch

    if packed[0] == "numpy":
        with warnings.catch_warnings():  # read-only shared memory: the task only reads it
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(packed[1])
    return torch.load(io.BytesIO(packed[1]), weights_only=True)
