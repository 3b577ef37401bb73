"""The worker pool: concurrent callers get the sequential results, nobody's thread setting
changes, the pool and its buffers outlive a call, and the process exits cleanly.

Thread settings are read in the calling thread and in a thread started afterwards: with
OpenMP, torch.set_num_threads(n) sets both the calling thread's count and the default that
threads copy when they first run torch (see losslab/objectives/pool.py)."""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import losslab as ll
from losslab.objectives import model as model_module
from losslab.objectives import pool
from losslab.objectives._workspace import Workspace

needs_openmp = pytest.mark.skipif(
    not pool.limits_threads(), reason="a worker limits its own threads only with OpenMP"
)
DISTINCT = 3  # a thread count neither the machine's default nor a worker's


def threads_of_a_new_thread() -> int:
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


@pytest.fixture
def distinct_threads():
    """The calling thread and the process default at DISTINCT for the test, then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(DISTINCT)
    yield DISTINCT
    torch.set_num_threads(before)


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 24), nn.ReLU(), nn.Linear(24, 20), nn.Tanh(), nn.Linear(20, 4)
    )


def data(n=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=generator), torch.randint(0, 4, (n,), generator=generator)


def run_in_threads(*targets):
    """Run each target in its own thread at once; re-raise the first failure."""
    errors = []

    def capture(target):
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    threads = [threading.Thread(target=capture, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a caller never finished"
    if errors:
        raise errors[0]


@needs_openmp
def test_a_worker_limits_its_own_threads_and_no_one_elses(distinct_threads):
    workers = pool.WorkerPool(threads_per_worker=1)
    seen = [None] * 8
    try:
        workers.map(lambda i: seen.__setitem__(i, torch.get_num_threads()), 8, n_workers=2)
    finally:
        workers.shutdown()
    assert seen == [1] * 8
    assert torch.get_num_threads() == distinct_threads
    assert threads_of_a_new_thread() == distinct_threads


@needs_openmp
def test_a_worker_finds_torchs_openmp_runtime_among_other_ones(distinct_threads):
    pytest.importorskip("sklearn")  # its wheels load a libgomp of their own next to torch's
    pool._omp_set_num_threads.cache_clear()
    assert pool.limits_threads()
    workers = pool.WorkerPool(threads_per_worker=2)
    seen = [None] * 4
    try:
        workers.map(lambda i: seen.__setitem__(i, torch.get_num_threads()), 4, n_workers=2)
    finally:
        workers.shutdown()
    assert seen == [2] * 4


@needs_openmp
def test_two_landscapes_from_two_threads_at_once_equal_the_sequential_ones(distinct_threads):
    # The loss lets A's first point wait until B's landscape has started, so both calls are
    # in flight at once whatever the scheduling. Each point is computed by a worker with the
    # same thread count in both runs, so the values are equal bit for bit.
    gate, a_in_flight = threading.Event(), threading.Event()
    gate.set()

    def gated_cross_entropy(outputs, targets):
        a_in_flight.set()
        assert gate.wait(timeout=120), "B never started"
        return F.cross_entropy(outputs, targets)

    model = mlp()
    objective = ll.ModelObjective(model, gated_cross_entropy, data(), workers=2)
    plane_a = ll.directions.random(model, 2, seed=1)
    plane_b = ll.directions.random(model, 2, seed=2)
    options = dict(span=0.8, resolution=(9, 8))  # 72 points: two chunks of 64 and 8
    expected_a = ll.landscape(objective, plane_a, **options)
    expected_b = ll.landscape(objective, plane_b, **options)

    gate.clear()
    a_in_flight.clear()
    got, counts = {}, {}

    def caller_a():
        counts["a before"] = torch.get_num_threads()
        got["a"] = ll.landscape(objective, plane_a, **options)
        counts["a after"] = torch.get_num_threads()

    def caller_b():
        assert a_in_flight.wait(timeout=120), "A never started"
        counts["b before"] = torch.get_num_threads()
        got["b"] = ll.landscape(objective, plane_b, progress=lambda *_: gate.set(), **options)
        counts["b after"] = torch.get_num_threads()

    run_in_threads(caller_a, caller_b)
    for key, expected in (("a", expected_a), ("b", expected_b)):
        for metric in ("loss", "accuracy"):
            assert np.array_equal(got[key].values[metric], expected.values[metric]), key
    assert not np.array_equal(got["a"].values["loss"], got["b"].values["loss"])
    # Every thread started with the process default and kept it; so did this one.
    assert counts == dict.fromkeys(counts, distinct_threads) and len(counts) == 4
    assert torch.get_num_threads() == distinct_threads
    assert threads_of_a_new_thread() == distinct_threads


class Residual(nn.Module):
    """Not a Sequential, and a branch on a value stops torch.fx: the general path, whose
    private copies (one per thread) serve one call at a time each."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.inp, self.hidden, self.out = nn.Linear(6, 10), nn.Linear(10, 10), nn.Linear(10, 4)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        if float(h.sum()) < 0:  # never true; a value torch.fx cannot trace through
            return self.out(h)
        return self.out(h + torch.tanh(self.hidden(h)))


def test_concurrent_callers_on_the_general_path_get_their_own_points():
    model = Residual()
    objective = ll.ModelObjective(model, "cross_entropy", data())
    assert objective.describe()["path"] == "functional_call"
    generator = torch.Generator().manual_seed(0)
    batches = [objective.origin + 0.5 * torch.randn(20, objective.n_params, generator=generator)]
    batches.append(
        objective.origin - 0.5 * torch.randn(20, objective.n_params, generator=generator)
    )
    expected = [objective.evaluate(points)["loss"] for points in batches]
    got = [[None] * 3, [None] * 3]

    def caller(k):
        def run():
            for round_ in range(3):
                got[k][round_] = objective.evaluate(batches[k])["loss"]

        return run

    run_in_threads(caller(0), caller(1))
    for k in (0, 1):
        for values in got[k]:
            assert torch.equal(values, expected[k])


@needs_openmp
def test_the_pool_and_each_workers_buffers_outlive_the_chunks_of_a_landscape(monkeypatch):
    made = []

    class CountedWorkspace(Workspace):
        def __init__(self):
            super().__init__()
            made.append(threading.get_ident())

    monkeypatch.setattr(model_module, "Workspace", CountedWorkspace)
    evaluated_by = set()

    def recording_cross_entropy(outputs, targets):
        evaluated_by.add(threading.get_ident())
        return F.cross_entropy(outputs, targets)

    model = mlp()
    objective = ll.ModelObjective(model, recording_cross_entropy, data(), workers=2)
    evaluated_by.clear()  # construction checked the model in this thread
    plane = ll.directions.random(model, 2, seed=0)
    threads = torch.get_num_threads()
    shared = pool.worker_pool(max(1, threads // 2))
    assert pool.worker_pool(max(1, threads // 2)) is shared
    ll.landscape(objective, plane, resolution=(9, 8), chunk_size=4)  # 18 chunks
    workers = {w.ident for w in shared._workers}
    started = shared.n_started
    # At most one Workspace per pool thread (the pool may have more threads than this call's
    # 2 workers, from earlier callers), however many chunks; only pool threads evaluate.
    assert evaluated_by <= workers and len(made) == len(set(made)) <= len(workers)
    assert set(made) <= workers and len(made) < 18
    ll.landscape(objective, plane, resolution=(12, 12))  # default chunks of 64: 3 calls
    assert shared.n_started == started and {w.ident for w in shared._workers} == workers
    assert evaluated_by <= workers and len(made) == len(set(made)) <= len(workers)


def test_a_failing_point_raises_in_the_caller_and_the_pool_serves_the_next_call():
    calls = []

    def fn(i):
        calls.append(i)
        if i == 3:
            raise ValueError("point 3 failed")

    workers = pool.WorkerPool(threads_per_worker=1)
    try:
        with pytest.raises(ValueError, match="point 3 failed"):
            workers.map(fn, 50, n_workers=2)
        assert len(calls) < 50  # the others stopped pulling points
        done = []
        workers.map(done.append, 10, n_workers=2)
        assert sorted(done) == list(range(10))
    finally:
        workers.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        workers.map(done.append, 10, n_workers=2)


EXIT_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import torch
    from torch import nn
    import losslab as ll

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 10))
    x, y = torch.randn(1000, 32), torch.randint(0, 10, (1000,))
    objective = ll.ModelObjective(model, "cross_entropy", (x, y), workers=2)
    plane = ll.directions.random(model, 2, seed=0)
    first_chunk = threading.Event()

    def progress(done, total):
        if done:
            first_chunk.set()

    def run():
        ll.landscape(objective, plane, resolution=80, progress=progress)

    if sys.argv[1] == "exit":  # the main thread leaves while a daemon thread's points run
        threading.Thread(target=run, daemon=True).start()
        first_chunk.wait()
        sys.exit(0)
    else:  # Ctrl-C in the main thread while the workers run its points

        def interrupt():
            first_chunk.wait()
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        run()
    """
)


@needs_openmp
@pytest.mark.parametrize("how", ["exit", "interrupt"])
def test_the_process_ends_cleanly_while_workers_are_busy(tmp_path, how):
    script = tmp_path / "busy.py"
    script.write_text(EXIT_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), how], capture_output=True, text=True, timeout=300
    )
    assert "terminate called" not in done.stderr
    if how == "exit":
        assert done.returncode == 0, done.stderr
    else:  # KeyboardInterrupt, not an abort (SIGABRT: -6)
        assert done.returncode in (130, -2) and "KeyboardInterrupt" in done.stderr
