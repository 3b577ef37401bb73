"""The Ray executor on a local cluster of 2 CPUs: the same numbers as the local executor, and
the faults issue 16 names: a worker killed mid-run, a driver interrupted, a task that raises.

One Ray instance serves the whole module (starting one costs seconds)."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray")

import ray_objectives  # noqa: E402
from ray import cloudpickle  # noqa: E402

import losslab as ll  # noqa: E402
from losslab.executors import RayExecutor, UnitFailed  # noqa: E402

cloudpickle.register_pickle_by_value(ray_objectives)  # the workers cannot import tests/


@pytest.fixture(scope="module")
def executor():
    if ray.is_initialized():  # started by another test of this process (the README's)
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield RayExecutor()
    ray.shutdown()


@pytest.fixture(scope="module")
def network():
    """A small MLP on digits, its objective and a random slice through it."""
    torch.manual_seed(0)
    data = ll.data.load_dataset("digits")
    model = ll.models.build("mlp", data, width=16)
    objective = ll.ModelObjective(model, "cross_entropy", data.train)
    return objective, ll.directions.random(objective, seed=1)


def test_a_network_landscape_equals_the_local_one_bit_for_bit(executor, network, tmp_path):
    objective, directions = network
    local = ll.landscape(objective, directions, resolution=(9, 7), chunk_size=16)
    remote = ll.landscape(
        objective, directions, resolution=(9, 7), chunk_size=16, executor=executor
    )
    for metric in local.values:
        np.testing.assert_array_equal(remote.values[metric], local.values[metric])
    to_file = ll.landscape(
        objective,
        directions,
        resolution=(9, 7),
        chunk_size=16,
        executor="ray",
        out=tmp_path / "land.h5",
    )
    np.testing.assert_array_equal(to_file.values["loss"], local.values["loss"])
    loaded = ll.load_result(tmp_path / "land.h5")
    np.testing.assert_array_equal(loaded.values["loss"], local.values["loss"])


def test_progress_is_fed_by_finished_tasks(executor, tmp_path):
    objective = ray_objectives.LoggedBowl(str(tmp_path / "log"))
    seen = []
    ll.landscape(
        objective, resolution=(4, 5), executor=executor, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[0] == (0, 20) and seen[-1] == (20, 20)
    steps = [d for d, _ in seen]
    assert steps == sorted(steps) and len(steps) == 1 + 4  # one report per chunk of 5 points


def test_a_killed_worker_reruns_only_its_own_chunk(executor, tmp_path):
    log = str(tmp_path / "log")
    objective = ray_objectives.LoggedBowl(log, delay=0.4)
    victims = []

    def kill_the_first_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = ray_objectives.log_lines(log)
            if lines:
                pid = lines[0][0]
                victims.append(lines[0])
                os.kill(pid, signal.SIGKILL)  # mid-chunk: it sleeps 0.4 s after logging
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_first_worker)
    killer.start()
    result = ll.landscape(objective, resolution=(6, 5), span=1.0, executor=executor)
    killer.join()
    expected = ll.landscape(ray_objectives.LoggedBowl(str(tmp_path / "oracle")), resolution=(6, 5))
    np.testing.assert_array_equal(result.values["loss"], expected.values["loss"])
    assert victims, "no worker was killed"
    runs = ray_objectives.log_lines(log)
    n_chunks = 30 // objective.chunk_size
    assert len(runs) == n_chunks + 1  # every chunk once, and the killed one again
    starts = [a for _, a in runs]
    again = [a for a in set(starts) if starts.count(a) == 2]
    assert again == [victims[0][1]]  # the rerun is the killed worker's chunk
    second = [pid for pid, a in runs if a == victims[0][1]][1]
    assert second != victims[0][0]  # run again by another (new) worker process


def test_an_interrupted_driver_resumes_with_either_executor(executor, tmp_path):
    objective = ray_objectives.LoggedBowl(str(tmp_path / "log"))
    whole = ll.landscape(objective, resolution=(5, 4))
    for resume_with in ("local", executor):
        out = tmp_path / f"resumed-{getattr(resume_with, 'name', resume_with)}.h5"
        reports = []

        def stop_after_two_chunks(done, total, reports=reports):
            reports.append(done)
            if len(reports) == 3:  # the start, then two finished chunks
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ll.landscape(
                objective,
                resolution=(5, 4),
                out=out,
                executor=executor,
                progress=stop_after_two_chunks,
            )
        assert not out.exists()
        resumed_reports = []
        result = ll.landscape(
            objective,
            resolution=(5, 4),
            out=out,
            executor=resume_with,
            progress=lambda d, t, seen=resumed_reports: seen.append(d),
        )
        assert resumed_reports[0] == 10  # it started from the two kept chunks
        np.testing.assert_array_equal(result.values["loss"], whole.values["loss"])


def test_ctrl_c_starts_no_further_task(executor, tmp_path):
    log = str(tmp_path / "log")
    slow = ray_objectives.LoggedBowl(log, delay=0.3)  # 16 chunks of 0.3 s on 2 workers

    def interrupt(done, total):
        if done > 0:  # the first finished chunk
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ll.landscape(slow, resolution=(20, 4), executor=executor, progress=interrupt)
    time.sleep(2.0)  # six chunks' time: the run would be half done by now
    window = executor._window()  # tasks in flight at once (4 on 2 CPUs)
    started = len(ray_objectives.log_lines(log))
    assert started <= window + 1 < 16  # the window, and the one submitted as the first ended


def test_a_task_that_raises_names_its_chunk_and_keeps_the_finished_ones(executor, tmp_path):
    out = tmp_path / "failing.h5"
    failing = ray_objectives.LoggedBowl(str(tmp_path / "log"), fail_at=0.9)
    with pytest.raises(UnitFailed) as caught:
        ll.landscape(failing, resolution=(5, 4), span=1.0, out=out, executor=executor)
    message = str(caught.value)
    assert "\n" not in message
    assert "the chunk of grid points 15..19 failed" in message
    assert "ValueError: the model cannot run at a = 1" in message
    fixed = ray_objectives.LoggedBowl(str(tmp_path / "log2"))
    resumed = []
    result = ll.landscape(
        fixed, resolution=(5, 4), span=1.0, out=out, progress=lambda d, t: resumed.append(d)
    )
    kept = resumed[0]  # the chunks that finished before the error surfaced were kept:
    assert kept >= 10  # at least the two that ran before the failing one could start
    assert len(ray_objectives.log_lines(str(tmp_path / "log2"))) == (20 - kept) // 5
    np.testing.assert_array_equal(
        result.values["loss"], ll.landscape(fixed, resolution=(5, 4), span=1.0).values["loss"]
    )


USER_MODEL = """
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(64, 10)

    def forward(self, x):
        return self.layer(torch.tanh(x))


def make():
    return Tiny()
"""


def invoke(*args):
    from typer.testing import CliRunner

    from losslab.cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_the_cli_runs_a_users_own_model_on_ray_and_writes_the_local_file(executor, tmp_path):
    (tmp_path / "net.py").write_text(USER_MODEL)
    common = (
        "landscape",
        "--model",
        f"{tmp_path / 'net.py'}:make",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--resolution",
        "5",
    )
    local = invoke(*common, "--out", tmp_path / "local.h5")
    assert local.exit_code == 0, local.output
    remote = invoke(*common, "--out", tmp_path / "ray.h5", "--executor", "ray")
    assert remote.exit_code == 0, remote.output
    a, b = ll.load_result(tmp_path / "local.h5"), ll.load_result(tmp_path / "ray.h5")
    np.testing.assert_array_equal(b.values["loss"], a.values["loss"])
    refused = invoke(*common, "--gpus-per-task", "0.5")
    assert refused.exit_code == 2 and "only apply with --executor ray" in refused.output


def test_curvature_probes_give_the_same_numbers_on_ray(executor, network, one_thread):
    # A float32 product's last bits depend on torch's intra-op threads (its reductions are
    # split by thread): a task runs with floor(cpus_per_task) = 1, so the driver runs with 1.
    objective, _ = network
    for method in ("hutch++", "hutchinson"):
        local = ll.curvature.trace(objective, n_probes=12, method=method, seed=3)
        remote = ll.curvature.trace(
            objective, n_probes=12, method=method, seed=3, executor=executor
        )
        assert (remote.estimate, remote.standard_error) == (local.estimate, local.standard_error)
        assert remote.n_products == local.n_products == 12
        assert torch.equal(remote.samples, local.samples)
    local = ll.curvature.density(objective, n_probes=3, n_steps=12, seed=2)
    remote = ll.curvature.density(objective, n_probes=3, n_steps=12, seed=2, executor=executor)
    assert torch.equal(remote.nodes, local.nodes) and torch.equal(remote.weights, local.weights)
    assert remote.n_products == local.n_products == 36


def test_a_width_sweep_gives_the_same_numbers_on_ray(executor, one_thread):
    data = ll.data.load_dataset("moons")
    options = dict(seeds=2, epochs=2, resolution=5, n_points=5, loss_fn="cross_entropy")
    local = ll.connectivity.width_sweep(ray_objectives.mlp, [4, 8], data, **options)
    cells = []
    remote = ll.connectivity.width_sweep(
        ray_objectives.mlp,
        [4, 8],
        data,
        executor=executor,
        progress=lambda done, total: cells.append((done, total)),
        **options,
    )
    assert cells == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert set(remote.samples) == set(local.samples)
    for figure, values in local.samples.items():
        assert torch.equal(remote.samples[figure], values), figure
