import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch

import losslab as ll
from losslab.errors import LosslabError
from losslab.landscapes import Landscape
from losslab.landscapes.compute import landscape
from losslab.landscapes.store import partial_folder
from losslab.objectives.model import ModelObjective

SLOW_OBJECTIVE = '''
import time
import torch

from losslab.objectives.base import Objective


class SlowSurface(Objective):
    """Himmelblau's function, `delay` seconds a call: slow enough to interrupt."""

    n_params, name, bounds = 2, "slow_himmelblau", None

    def __init__(self, delay=0.0):
        self.delay, self.calls = delay, 0

    def __call__(self, params):
        self.calls += 1
        time.sleep(self.delay)
        x, y = params.unbind(-1)
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def describe(self):
        return {"name": "slow_himmelblau", "formula": "himmelblau"}


DIRECTIONS = torch.tensor([[1.0, 0.5], [-0.3, 1.0]], dtype=torch.float64)
SPEC = dict(span=[(-1.0, 2.0), 1.5], resolution=(6, 5), chunk_size=4)  # 30 points, 8 chunks
'''

namespace: dict = {}
exec(SLOW_OBJECTIVE, namespace)
SlowSurface, DIRECTIONS, SPEC = namespace["SlowSurface"], namespace["DIRECTIONS"], namespace["SPEC"]


def file_content(path) -> dict:
    """Everything in a landscape file, the creation time aside."""
    content = {}
    with h5py.File(path, "r") as handle:
        for key, value in handle.attrs.items():
            if key == "metadata":
                value = json.loads(value)
                value.pop("created")
            content[f"attr:{key}"] = value

        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                content[name] = item[()]

        handle.visititems(visit)
    return content


def assert_same_content(a, b):
    first, second = file_content(a), file_content(b)
    assert sorted(first) == sorted(second)
    for key, value in first.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == second[key].dtype and np.array_equal(value, second[key]), key
        else:
            assert value == second[key], key


def test_save_and_load_round_trip(tmp_path):
    objective = SlowSurface()
    result = landscape(objective, DIRECTIONS, span=[(-1.0, 2.0), 1.5], resolution=(6, 5))
    path = result.save(tmp_path / "slice.h5")
    loaded = Landscape.load(path)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.coords, result.coords, strict=True))
    assert list(loaded.values) == list(result.values)
    assert np.array_equal(loaded.values["loss"], result.values["loss"])
    assert np.array_equal(loaded.origin, result.origin)
    assert np.array_equal(loaded.directions, result.directions)
    assert loaded.metadata["spec_hash"] == result.metadata["spec_hash"]
    assert loaded.metadata == json.loads(json.dumps(result.metadata))
    assert np.allclose(loaded.project(result.parameters([[0.5, -1.0]])), [[0.5, -1.0]])
    with h5py.File(path) as handle:  # self-describing for any HDF5 reader
        assert handle.attrs["losslab_result"] == "landscape"
        assert handle["values/loss"].shape == (6, 5) and handle["done"][()].all()
    assert [p.name for p in tmp_path.iterdir()] == ["slice.h5"]


def test_a_network_landscape_resumes_and_round_trips_with_its_layout(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    X, y = torch.randn(20, 3), torch.randint(0, 2, (20,))
    objective = ModelObjective(model, "cross_entropy", (X, y))  # float32
    found = ll.directions.random(model, 2, seed=1)
    out = tmp_path / "net.h5"

    def stop(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        landscape(objective, found, resolution=3, chunk_size=2, out=out, progress=stop)
    result = landscape(objective, found, resolution=3, chunk_size=2, out=out)
    in_memory = landscape(objective, found, resolution=3)
    loaded = Landscape.load(out)
    assert np.array_equal(loaded.values["loss"], in_memory.values["loss"])
    assert np.array_equal(loaded.values["accuracy"], result.values["accuracy"])
    assert loaded.values["loss"].dtype == np.float64  # computed in float32, stored as float64
    assert loaded.layout == found.layout == objective.layout
    assert loaded.metadata["objective"]["model_fingerprint"] == objective.fingerprint()
    again = loaded.as_directions()
    assert again.kind == "random" and again.seed == 1
    assert torch.equal(again.vectors, found.vectors)
    assert np.array_equal(loaded.origin, objective.origin.double().numpy())

    other = ModelObjective(model, "cross_entropy", (X, 1 - y))
    with pytest.raises(LosslabError, match=r"objective \(data\) differ"):
        landscape(other, found, resolution=3, chunk_size=2, out=out)


def test_out_writes_the_same_landscape_as_in_memory(tmp_path):
    in_memory = landscape(SlowSurface(), DIRECTIONS, **SPEC)
    on_disk = landscape(SlowSurface(), DIRECTIONS, out=tmp_path / "a.h5", **SPEC)
    loaded = Landscape.load(tmp_path / "a.h5")
    for result in (on_disk, loaded):
        assert np.array_equal(result.values["loss"], in_memory.values["loss"])
    assert [p.name for p in tmp_path.iterdir()] == ["a.h5"]  # the work folder is gone


def test_resume_after_ctrl_c_computes_only_missing_chunks_and_gives_the_same_file(tmp_path):
    reference = tmp_path / "reference.h5"
    landscape(SlowSurface(), DIRECTIONS, out=reference, **SPEC)

    out = tmp_path / "run.h5"

    def interrupt_after_two_chunks(done, total):
        if done >= 2 * SPEC["chunk_size"]:
            raise KeyboardInterrupt

    first = SlowSurface()
    with pytest.raises(KeyboardInterrupt):
        landscape(first, DIRECTIONS, out=out, progress=interrupt_after_two_chunks, **SPEC)
    assert first.calls == 2 and not out.exists()
    assert len(list(partial_folder(out).glob("chunk_*.npz"))) == 2

    second, seen = SlowSurface(), []
    result = landscape(
        second, DIRECTIONS, out=out, progress=lambda d, t: seen.append((d, t)), **SPEC
    )
    assert second.calls == 6 and seen[0] == (8, 30) and seen[-1] == (30, 30)
    assert not partial_folder(out).exists()
    assert_same_content(out, reference)
    assert np.array_equal(result.values["loss"], Landscape.load(reference).values["loss"])

    # A finished file with the same spec is returned as it is, with no work.
    third = SlowSurface()
    landscape(third, DIRECTIONS, out=out, **SPEC)
    assert third.calls == 0


def test_resume_after_kill_9_gives_the_same_file(tmp_path):
    script = tmp_path / "run_slowly.py"
    script.write_text(
        SLOW_OBJECTIVE
        + """
import sys
from losslab.landscapes.compute import landscape

landscape(
    SlowSurface(delay=0.25), DIRECTIONS, out=sys.argv[1], **SPEC,
    progress=lambda done, total: print(done, flush=True),
)
print("finished", flush=True)
"""
    )
    out = tmp_path / "killed.h5"
    process = subprocess.Popen(
        [sys.executable, str(script), str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line and line.strip() != "finished", "the run ended before it was killed"
            if int(line) >= 2 * SPEC["chunk_size"]:
                break
        os.kill(process.pid, signal.SIGKILL)  # no clean-up code runs
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL and not out.exists()
    n_kept = len(list(partial_folder(out).glob("chunk_*.npz")))
    assert 2 <= n_kept < 8

    resumed = SlowSurface()
    landscape(resumed, DIRECTIONS, out=out, **SPEC)
    assert resumed.calls == 8 - n_kept
    reference = tmp_path / "reference.h5"
    landscape(SlowSurface(), DIRECTIONS, out=reference, **SPEC)
    assert_same_content(out, reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "killed.h5",
        "reference.h5",
        "run_slowly.py",
    ]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"resolution": (6, 6)}, r"coords \(resolution \[6, 5\] -> \[6, 6\]\)"),
        ({"span": 1.0}, r"coords \(span"),
        ({"origin": [0.5, 0.0]}, "origin"),
        ({"directions": DIRECTIONS.flip(0)}, "directions"),
    ],
)
def test_a_different_spec_is_refused_on_a_finished_file_and_on_a_partial_one(
    tmp_path, change, named
):
    finished = tmp_path / "done.h5"
    landscape(SlowSurface(), DIRECTIONS, out=finished, **SPEC)
    before = finished.read_bytes()
    partial = tmp_path / "partial.h5"

    def stop(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        landscape(SlowSurface(), DIRECTIONS, out=partial, progress=stop, **SPEC)

    arguments = {"directions": DIRECTIONS, **SPEC, **change}
    for out, where in [(finished, "done.h5'"), (partial, "partial.h5.partial'")]:
        objective = SlowSurface()
        with pytest.raises(LosslabError, match=named) as error:
            landscape(objective, out=out, **arguments)
        assert where in str(error.value) and "delete" in str(error.value)
        assert objective.calls == 0
    assert finished.read_bytes() == before
    assert len(list(partial_folder(partial).glob("chunk_*.npz"))) == 1


def test_another_model_or_data_is_refused_by_name(tmp_path):
    out = tmp_path / "a.h5"
    landscape(SlowSurface(), DIRECTIONS, out=out, **SPEC)

    class OtherData(SlowSurface):
        def describe(self):
            return {**super().describe(), "data": "other"}

    with pytest.raises(LosslabError, match=r"objective \(data\) differ"):
        landscape(OtherData(), DIRECTIONS, out=out, **SPEC)


def test_resuming_with_another_chunk_size_is_refused_and_none_adopts_the_stored_one(tmp_path):
    out = tmp_path / "a.h5"

    def stop(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        landscape(SlowSurface(), DIRECTIONS, out=out, progress=stop, **SPEC)
    other = {**SPEC, "chunk_size": 5}
    with pytest.raises(LosslabError, match="pass chunk_size=4"):
        landscape(SlowSurface(), DIRECTIONS, out=out, **other)
    objective = SlowSurface()
    landscape(objective, DIRECTIONS, out=out, **{**SPEC, "chunk_size": None})
    assert objective.calls == 7
    assert Landscape.load(out).metadata["chunk_size"] == 4


def test_leftovers_of_a_killed_writer_are_ignored_and_damaged_chunks_recomputed(tmp_path):
    out = tmp_path / "a.h5"

    def stop(done, total):
        if done >= 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        landscape(SlowSurface(), DIRECTIONS, out=out, progress=stop, **SPEC)
    folder = partial_folder(out)
    (folder / ".chunk_00000003.npz.deadbeef.part").write_bytes(b"half a chunk")  # as io names it
    (folder / "chunk_00000001.npz").write_bytes(b"damaged by a power cut")
    objective = SlowSurface()
    result = landscape(objective, DIRECTIONS, out=out, **SPEC)
    assert objective.calls == 5 + 1  # 5 missing, 1 damaged
    reference = landscape(SlowSurface(), DIRECTIONS, **SPEC)
    assert np.array_equal(result.values["loss"], reference.values["loss"])
    assert not folder.exists()


def test_a_run_that_fails_before_any_chunk_leaves_nothing(tmp_path):
    class Broken(SlowSurface):
        def __call__(self, params):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        landscape(Broken(), DIRECTIONS, out=tmp_path / "a.h5", **SPEC)
    assert list(tmp_path.iterdir()) == []


def test_files_that_are_not_landscapes_are_refused_and_left_alone(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["x"] = np.arange(3)
    before = other.read_bytes()
    with pytest.raises(LosslabError, match="not a losslab landscape"):
        Landscape.load(other)
    with pytest.raises(LosslabError, match="choose a new out path or delete it"):
        landscape(SlowSurface(), DIRECTIONS, out=other, **SPEC)
    assert other.read_bytes() == before
    garbage = tmp_path / "garbage.h5"
    garbage.write_text("not hdf5")
    with pytest.raises(LosslabError, match="cannot read landscape file"):
        Landscape.load(garbage)
    with pytest.raises(LosslabError, match=r"\.h5 or \.hdf5"):
        landscape(SlowSurface(), DIRECTIONS, **SPEC).save(tmp_path / "a.npz")


def test_user_metadata_is_kept_in_the_file_and_is_not_part_of_the_spec(tmp_path):
    out = tmp_path / "titled.h5"
    first = landscape(SlowSurface(), DIRECTIONS, out=out, metadata={"title": "first"}, **SPEC)
    assert first.metadata["title"] == "first"
    assert Landscape.load(out).metadata["title"] == "first"
    # Another title names the same computation: the finished file is returned, not refused.
    again = landscape(SlowSurface(), DIRECTIONS, out=out, metadata={"title": "second"}, **SPEC)
    np.testing.assert_array_equal(again.values["loss"], first.values["loss"])
    with pytest.raises(LosslabError, match="written by losslab itself"):
        landscape(SlowSurface(), DIRECTIONS, metadata={"spec": 1}, **SPEC)
    with pytest.raises(LosslabError, match="string keys"):
        landscape(SlowSurface(), DIRECTIONS, metadata={1: "x"}, **SPEC)
