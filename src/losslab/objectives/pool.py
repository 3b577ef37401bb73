"""One long-lived pool of worker threads per intra-op thread count, shared by the process.

A network's grid points are independent forward passes. On a CPU, one point per core (each
worker with few intra-op threads) beats one point at a time on all cores for the small
matrices of a grid point, and torch releases the GIL inside its ops, so threads run side by
side. The pool outlives every call: a landscape cut into chunks of 64 points starts no thread
after its first chunk, and each worker keeps its buffers (see `_workspace`).

How a worker limits its own intra-op threads, and why not with torch.set_num_threads.
With the OpenMP backend, torch.set_num_threads(n) sets the calling thread's OpenMP setting
(its ICV) AND a process-wide default that every thread copies once, when it first runs a
parallel op; torch.get_num_threads() reads the calling thread's. Measured (torch 2.13,
libgomp, 2 cores): a worker calling torch.set_num_threads(1) leaves the main thread at 2 and
every thread started afterwards at 1. A worker here calls torch.get_num_threads() first (so
torch's one-time copy of the default has happened and cannot undo what follows), then the
OpenMP runtime's own omp_set_num_threads, which changes the calling thread only; MKL follows
it (MKL_VERBOSE: NThr:1 in the worker, NThr:2 in the main thread). No library call changes
torch.set_num_threads for its caller or for threads started later. Where the OpenMP runtime
cannot be found (another backend), `limits_threads()` is False and callers use no pool by
default.

Exit: the threads are daemons, so they never keep the interpreter alive, and an atexit hook
cancels the jobs in flight and joins every worker (each finishes at most the point it is on),
so no worker is inside torch while the interpreter tears down (a worker inside torch then
aborts the process: "terminate called without an active exception", measured with the
short-lived threads this pool replaces). A caller still waiting (a daemon thread) then gets
a RuntimeError instead of results, as does any later call, rather than run torch itself.
A caller that runs torch itself between jobs (ModelObjective's per-batch work) does it
inside `busy()`, and the hook also waits for those sections to end (their next map raises at
once): without that, a daemon caller inside torch at teardown aborted about one exit in twelve
(tests/test_worker_pool.py). Ctrl-C in a waiting caller cancels its job and raises
KeyboardInterrupt there. After a fork the child starts new pools.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import itertools
import os
import queue
import threading
from collections.abc import Callable, Iterator

import torch

_OPENMP_LIBRARIES = ("libgomp", "libiomp", "libomp")


@functools.cache
def _omp_set_num_threads() -> Callable[[int], None] | None:
    """torch's OpenMP runtime's omp_set_num_threads (it sets the calling thread's ICV), or
    None when torch does not run on OpenMP or its runtime is not found.

    Other packages load OpenMP runtimes of their own (scikit-learn's wheels bring a second
    libgomp), so each loaded runtime, torch's own folder first, is tried in a throwaway
    thread and kept only if torch.get_num_threads() there follows it."""
    if "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    try:
        with open("/proc/self/maps") as maps:  # Linux: the shared objects this process loaded
            paths = {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        return None
    torch_dir = os.path.dirname(torch.__file__)
    candidates = sorted(
        (p for p in paths if os.path.basename(p).startswith(_OPENMP_LIBRARIES)),
        key=lambda p: (not p.startswith(torch_dir), p),
    )
    for path in candidates:
        try:
            function = ctypes.CDLL(path).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        function.argtypes, function.restype = [ctypes.c_int], None
        if _torch_follows(function):
            return function
    return None


def _torch_follows(setter: Callable[[int], None]) -> bool:
    """Whether torch.get_num_threads() in a new thread follows `setter` there."""
    seen: list[bool] = []

    def probe() -> None:
        wanted = torch.get_num_threads() + 1
        setter(wanted)
        seen.append(torch.get_num_threads() == wanted)

    thread = threading.Thread(target=probe, name="losslab-openmp-probe", daemon=True)
    thread.start()
    thread.join()
    return seen == [True]


def limits_threads() -> bool:
    """Whether a worker can limit its own intra-op threads without touching the caller's."""
    return _omp_set_num_threads() is not None


def limit_this_thread(threads: int) -> None:
    """Give the calling thread `threads` intra-op threads, leaving every other thread and the
    process default as they are (see the module docstring); a no-op without OpenMP."""
    setter = _omp_set_num_threads()
    if setter is None:
        return
    torch.get_num_threads()  # torch's once-per-thread copy of the default happens now
    setter(threads)


class _Job:
    """fn(0), ..., fn(n_items - 1), pulled from one counter by the workers that take it.

    Workers pull the next item from a shared counter (next() on itertools.count is atomic
    under the GIL): a core slowed by another process then takes fewer items instead of
    leaving the other cores idle at the end."""

    def __init__(self, fn: Callable[[int], None], n_items: int, n_tasks: int):
        self.fn, self.n_items = fn, n_items
        self.error: BaseException | None = None
        self.cancelled = False  # no worker starts another item
        self.shut_down = False  # cancelled because the pool shut down (interpreter exit)
        self.done = threading.Event()
        self._items = itertools.count()
        self._pending = n_tasks
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            while not self.cancelled:
                index = next(self._items)
                if index >= self.n_items:
                    break
                self.fn(index)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            if self.error is None:
                self.error = error
            self.cancelled = True
        finally:
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self.done.set()


_in_worker = threading.local()
_SHUT_DOWN = "losslab's worker pool is shut down: the interpreter is exiting."


class WorkerPool:
    """Daemon threads with `threads_per_worker` intra-op threads each, set once at start.

    `map(fn, n_items, n_workers)` runs fn over 0..n_items-1 on n_workers of them at once and
    returns when every item is done. Jobs of concurrent callers queue and take turns for
    the workers, so two callers never run more than the pool's threads between them.
    """

    def __init__(self, threads_per_worker: int):
        self.threads_per_worker = threads_per_worker
        self.n_started = 0  # threads started over the pool's life
        self._tasks: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._jobs: set[_Job] = set()
        self._lock = threading.Lock()
        self._closed = False

    def map(self, fn: Callable[[int], None], n_items: int, n_workers: int) -> None:
        if n_items <= 0:
            return
        job = _Job(fn, n_items, n_workers)
        with self._lock:
            if self._closed:  # at exit: running torch now, in whatever thread, can abort
                raise RuntimeError(_SHUT_DOWN)
            # Inline: one worker, or a call from inside a worker, which must not wait for
            # workers that may all be busy waiting for it.
            inline = n_workers <= 1 or getattr(_in_worker, "pool", False)
            if not inline:
                while len(self._workers) < n_workers:
                    self._start_worker()
                self._jobs.add(job)
                for _ in range(n_workers):
                    self._tasks.put(job)
        if inline:
            for index in range(n_items):
                fn(index)
            return
        try:
            job.done.wait()
        except BaseException:  # Ctrl-C while waiting: the workers stop after their item
            job.cancelled = True
            raise
        finally:
            with self._lock:
                self._jobs.discard(job)
        if job.error is not None:
            raise job.error
        if job.shut_down:  # a caller (a daemon thread) woken at exit: unwind, no torch
            raise RuntimeError(_SHUT_DOWN)

    def shutdown(self) -> None:
        """Cancel the jobs in flight (their callers raise) and join every worker; later calls
        raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for job in self._jobs:
                job.shut_down = job.cancelled = True
            workers = list(self._workers)
            for _ in workers:
                self._tasks.put(None)
        for worker in workers:
            if worker is not threading.current_thread():
                worker.join()

    def _start_worker(self) -> None:
        name = f"losslab-worker-{self.threads_per_worker}t-{len(self._workers)}"
        worker = threading.Thread(target=self._work, name=name, daemon=True)
        worker.start()
        self._workers.append(worker)
        self.n_started += 1

    def _work(self) -> None:
        _in_worker.pool = True
        limit_this_thread(self.threads_per_worker)
        while True:
            job = self._tasks.get()
            if job is None:
                return
            job.run()
            del job  # hold nothing of a finished job (its results, its objective) while idle


_pools: dict[int, WorkerPool] = {}
_pools_lock = threading.Lock()


def worker_pool(threads_per_worker: int) -> WorkerPool:
    """The process's pool whose workers have `threads_per_worker` intra-op threads each."""
    with _pools_lock:
        pool = _pools.get(threads_per_worker)
        if pool is None:
            pool = _pools[threads_per_worker] = WorkerPool(threads_per_worker)
        return pool


# Threads inside a `busy()` section: a caller that runs torch itself between its jobs (the
# per-batch work of ModelObjective's evaluation) on a daemon thread, which atexit must wait
# for as it waits for the workers.
_busy: set[threading.Thread] = set()
_busy_changed = threading.Condition()
_exiting = False
BUSY_WAIT_S = 30.0  # at most this long at exit for callers to reach their next map and stop
UNWIND_WAIT_S = 2.0  # then at most this long for each of them to finish unwinding


@contextlib.contextmanager
def busy() -> Iterator[None]:
    """Marks the calling thread as running torch work that uses the pool. At exit,
    `shutdown_pools` waits until every such section has ended (its next `map` raises the
    shut-down RuntimeError, so it ends soon), so that no caller is inside torch while the
    interpreter tears it down; a section entered after that raises at once."""
    thread = threading.current_thread()
    with _busy_changed:
        if _exiting:
            raise RuntimeError(_SHUT_DOWN)
        nested = thread in _busy
        _busy.add(thread)
    try:
        yield
    finally:
        if not nested:
            with _busy_changed:
                _busy.discard(thread)
                _busy_changed.notify_all()


@atexit.register
def shutdown_pools() -> None:
    """Join every worker, then wait for callers in `busy()` sections (atexit: before the
    interpreter tears torch down)."""
    global _exiting
    with _pools_lock:
        pools = list(_pools.values())
    with _busy_changed:
        _exiting = True
    for pool in pools:
        pool.shutdown()
    me = threading.current_thread()
    with _busy_changed:
        callers = _busy - {me}
        _busy_changed.wait_for(lambda: not (_busy - {me}), timeout=BUSY_WAIT_S)
    # A caller that left its section is unwinding the shut-down error, still able to run a
    # torch op on its way out; a daemon thread inside torch when the interpreter finalizes
    # is ended mid-op (std::terminate). Give each a moment to finish.
    for thread in callers:
        thread.join(timeout=UNWIND_WAIT_S)


def _forget_pools_after_fork() -> None:
    # A forked child has none of the parent's threads: its first call starts new pools.
    global _pools_lock, _busy_changed
    _pools.clear()
    _pools_lock = threading.Lock()
    _busy.clear()
    _busy_changed = threading.Condition()


os.register_at_fork(after_in_child=_forget_pools_after_fork)
