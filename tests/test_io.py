import errno
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import losslab as ll
from losslab import io as io_module
from losslab.io import (
    TEMP_SUFFIX,
    AtomicFile,
    WriteError,
    atomic_open,
    name_max,
    side_path,
    write_error,
)


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


# -- failures to write: one WriteError line, nothing left behind ---------------------------------


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_one_write_error_naming_the_path_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    monkeypatch.setattr(io_module.os, "fsync", enospc)  # the disk fills before the data lands
    with pytest.raises(WriteError) as caught, atomic_open(target) as handle:
        handle.write("data")
    assert str(caught.value).startswith(f"cannot write '{target}': no space left on device")
    assert list(tmp_path.iterdir()) == []


class ReadOnlyFile:
    """A file object that writes half of the first buffer, then fails as on a read-only file
    system (a short write, then an error: how a file system that fills up behaves)."""

    def __init__(self):
        self.calls = 0

    def write(self, data):
        self.calls += 1
        if self.calls == 1:
            return len(data) // 2
        raise OSError(errno.EROFS, "Read-only file system")

    def flush(self):
        pass


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EROFS, "Read-only file system"),
        RuntimeError("Can't decrement id ref count (errno = 30, error message = 'Read-only')"),
        # torch.save reports a failed write as a RuntimeError whose context is the OSError
        pytest.param("torch", id="torch"),
    ],
)
def test_write_errors_read_the_errno_however_the_writer_reports_it(error, tmp_path):
    if error == "torch":
        with pytest.raises(RuntimeError) as caught:
            torch.save({"w": torch.zeros(3)}, ReadOnlyFile())
        error = caught.value
    failure = write_error(tmp_path / "x.pt", error)
    assert str(failure) == f"cannot write '{tmp_path / 'x.pt'}': read-only file system."


def test_an_error_without_errno_is_a_bug_and_keeps_its_type(tmp_path):
    assert write_error(tmp_path / "x", RuntimeError("a bug")) is None
    assert write_error(tmp_path / "x", ll.LosslabError("bad input")) is None


def test_an_hdf5_result_on_a_full_disk_leaves_nothing(tmp_path, monkeypatch):
    landscape = ll.landscape(ll.surface("himmelblau"), resolution=5)
    monkeypatch.setattr(Path, "write_bytes", enospc)  # the file image written by Python
    with pytest.raises(WriteError, match="slice.h5': no space left on device"):
        landscape.save(tmp_path / "slice.h5")
    assert list(tmp_path.iterdir()) == []


def test_a_streamed_run_that_fails_mid_stream_leaves_nothing(tmp_path, monkeypatch):
    from torch import nn

    from losslab import training

    calls = []

    def fail_the_second_write(*args):
        calls.append(1)
        if len(calls) == 2:
            enospc()
        return original(*args)

    original = training._write_rows
    monkeypatch.setattr(training, "H5_CHUNK_BYTES", 1)  # one record per write
    monkeypatch.setattr(training, "_write_rows", fail_the_second_write)
    data = (torch.randn(32, 2), torch.randint(0, 2, (32,)))
    with pytest.raises(WriteError, match="run.h5': no space left on device"):
        ll.train(nn.Linear(2, 2), data, epochs=2, batch_size=16, out=tmp_path / "run.h5")
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_a_streamed_run_without_room_fails_before_training(tmp_path, monkeypatch):
    from torch import nn

    if not hasattr(os, "posix_fallocate"):
        pytest.skip("no posix_fallocate: the space is not reserved")
    monkeypatch.setattr(io_module.os, "posix_fallocate", enospc)
    steps = []
    data = (torch.randn(32, 2), torch.randint(0, 2, (32,)))
    with pytest.raises(WriteError, match="no space left on device"):
        ll.train(
            nn.Linear(2, 2),
            data,
            epochs=2,
            batch_size=16,
            out=tmp_path / "run.h5",
            progress=lambda done, total: steps.append(done),
        )
    assert steps == []
    assert list(tmp_path.iterdir()) == []


def test_a_failed_final_landscape_write_keeps_the_chunks_and_a_resume_finishes(
    tmp_path, monkeypatch
):
    surface, out = ll.surface("himmelblau"), tmp_path / "slice.h5"
    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_bytes", enospc)
        with pytest.raises(WriteError) as caught:
            ll.landscape(surface, resolution=5, out=out, chunk_size=10)
    message = str(caught.value)
    assert message.startswith(f"cannot write '{out}': no space left on device")
    assert f"3 computed chunk(s) stay in '{out}.partial'" in message
    assert sorted(p.name for p in (tmp_path / "slice.h5.partial").iterdir()) == [
        "chunk_00000000.npz",
        "chunk_00000001.npz",
        "chunk_00000002.npz",
        "spec.json",
    ]
    resumed = ll.landscape(surface, resolution=5, out=out, chunk_size=10)
    assert [p.name for p in tmp_path.iterdir()] == ["slice.h5"]
    in_memory = ll.landscape(surface, resolution=5)
    assert np.array_equal(resumed.values["loss"], in_memory.values["loss"])


def test_a_full_disk_in_the_middle_of_a_grid_says_which_chunks_stay(tmp_path, monkeypatch):
    from losslab.landscapes import store

    surface, out = ll.surface("himmelblau"), tmp_path / "slice.h5"
    real_savez, calls = np.savez, []

    def savez_then_full(*args, **kwargs):  # the third chunk meets a full disk
        calls.append(1)
        if len(calls) == 3:
            enospc()
        return real_savez(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store.np, "savez", savez_then_full)
        with pytest.raises(WriteError) as caught:
            ll.landscape(surface, resolution=5, out=out, chunk_size=10)
    message = str(caught.value)
    assert "no space left on device" in message and "\n" not in message
    assert f"The 2 chunk(s) computed before stay in '{out}.partial'" in message
    assert sorted(p.name for p in (tmp_path / "slice.h5.partial").iterdir()) == [
        "chunk_00000000.npz",
        "chunk_00000001.npz",
        "spec.json",
    ]
    resumed = ll.landscape(surface, resolution=5, out=out, chunk_size=10)
    assert np.array_equal(
        resumed.values["loss"], ll.landscape(surface, resolution=5).values["loss"]
    )


# -- names: a legal name never fails because of our temporary -------------------------------------


def test_the_temporary_of_a_long_name_is_short_and_beside_it(tmp_path):
    limit = name_max(tmp_path)
    for name in ("run.json", "a" * (limit - 5) + ".json"):
        target = AtomicFile(tmp_path / name)
        try:
            assert target.tmp.parent == tmp_path  # same folder: the rename stays atomic
            assert len(os.fsencode(target.tmp.name)) <= limit
            assert target.tmp.name.endswith(TEMP_SUFFIX)
            short = len(os.fsencode(f".{name}.")) + 8 + len(TEMP_SUFFIX) > limit
            assert target.tmp.name.startswith("." if short else f".{name}.")
        finally:
            target.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_name_at_the_limit_is_written_and_one_past_it_is_one_line(tmp_path):
    limit = name_max(tmp_path)
    at_limit = tmp_path / ("b" * (limit - 5) + ".json")
    run = ll.descend(ll.surface("himmelblau"), ll.optim.adam(0.05), [0.0, 0.0], n_steps=5)
    assert ll.load_result(run.save(at_limit)).n_steps == run.n_steps
    too_long = tmp_path / ("b" * (limit - 4) + ".json")
    with pytest.raises(WriteError, match=f"file name too long \\({limit + 1} bytes"):
        run.save(too_long)
    assert [p.name for p in tmp_path.iterdir()] == [at_limit.name]


def test_side_paths_of_long_names_stay_legal_distinct_and_the_same_each_time(tmp_path):
    limit = name_max(tmp_path)
    one, two = tmp_path / ("c" * (limit - 4) + ".h5"), tmp_path / ("c" * (limit - 5) + "d.h5")
    assert side_path(tmp_path / "x.h5", ".partial") == tmp_path / "x.h5.partial"
    for path in (one, two):
        side = side_path(path, ".partial")
        assert side.parent == tmp_path and side.name.endswith(".partial")
        assert len(os.fsencode(side.name)) <= limit
        assert side == side_path(path, ".partial")
    assert side_path(one, ".partial") != side_path(two, ".partial")


def test_check_writable_refuses_a_virtual_file_system_at_once():
    for folder in ("/proc", "/sys"):
        if not sys.platform.startswith("linux") or not Path(folder).is_dir():
            pytest.skip(f"{folder} is a Linux file system")
        with pytest.raises(WriteError, match=f"^cannot write '{folder}/x.json': "):
            ll.io.check_writable(f"{folder}/x.json")


# -- HDF5 on disk: the space is reserved first, and the reserve cut when the file is complete ---


def test_a_big_hdf5_result_is_written_on_disk_after_reserving_its_space(tmp_path, monkeypatch):
    from losslab.results import h5

    landscape = ll.landscape(ll.surface("himmelblau"), resolution=20)
    in_memory = landscape.save(tmp_path / "in_memory.h5")
    monkeypatch.setattr(h5, "IN_MEMORY_BYTES", 0)  # every file counts as big
    on_disk = landscape.save(tmp_path / "on_disk.h5")
    assert np.array_equal(ll.load_result(on_disk).values["loss"], landscape.values["loss"])
    # the same bytes count as the file built in memory: nothing reserved is left at its end
    assert os.path.getsize(on_disk) == os.path.getsize(in_memory)

    monkeypatch.setattr(io_module.os, "posix_fallocate", enospc)
    with pytest.raises(WriteError, match="full.h5': no space left on device"):
        landscape.save(tmp_path / "full.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in_memory.h5", "on_disk.h5"]


def test_a_streamed_run_keeps_no_reserved_space(tmp_path):
    from torch import nn

    from losslab.results.h5 import METADATA_BYTES

    data = (torch.randn(32, 2), torch.randint(0, 2, (32,)))
    run = ll.train(nn.Linear(2, 2), data, epochs=2, batch_size=16, out=tmp_path / "run.h5")
    assert run.n_records == 5
    assert os.path.getsize(tmp_path / "run.h5") < METADATA_BYTES  # reserved: more than that
