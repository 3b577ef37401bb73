import os
import stat

import pytest
import torch

import losslab as ll
from losslab.io import atomic_open


def test_atomic_open_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "result.json"
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_open_gives_the_mode_of_a_plain_open(tmp_path):
    with atomic_open(tmp_path / "a.txt") as handle:
        handle.write("x")
    with open(tmp_path / "b.txt", "w") as handle:
        handle.write("x")
    mode = stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "b.txt").st_mode)


def test_check_writable_names_the_missing_folder(tmp_path):
    with pytest.raises(ll.LosslabError, match="does not exist"):
        ll.io.check_writable(tmp_path / "missing" / "out.json")


def test_a_trajectory_round_trips_through_load_result(tmp_path):
    run = ll.descend(ll.surface("himmelblau"), ll.optim.adam(0.05), [0.0, 0.0], n_steps=20)
    path = run.save(tmp_path / "run.json")
    loaded = ll.load_result(path)
    assert isinstance(loaded, ll.Trajectory)
    assert torch.equal(loaded.params, run.params)
    assert loaded.status == run.status and loaded.stopped_at == run.stopped_at


def test_load_result_refuses_a_file_that_is_not_a_result(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(ll.LosslabError, match="not a losslab result"):
        ll.load_result(path)


def test_load_result_reads_hdf5_landscapes_and_training_runs(tmp_path):
    import h5py
    import torch
    from torch import nn

    surface = ll.surface("himmelblau")
    slice_ = ll.landscape(surface, resolution=5)
    loaded = ll.load_result(slice_.save(tmp_path / "slice.h5"))
    assert isinstance(loaded, ll.Landscape)
    assert (loaded.values["loss"] == slice_.values["loss"]).all()

    torch.manual_seed(0)
    data = (torch.randn(32, 2), torch.randint(0, 2, (32,)))
    run = ll.train(nn.Linear(2, 2), data, epochs=1, batch_size=16)
    loaded_run = ll.load_result(run.save(tmp_path / "run.h5"))
    assert isinstance(loaded_run, ll.TrainingRun)
    assert torch.equal(loaded_run.params, run.params)

    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle["x"] = [1, 2]
    with pytest.raises(ll.LosslabError, match="not a losslab result"):
        ll.load_result(tmp_path / "other.h5")
