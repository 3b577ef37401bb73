"""Every file a command writes loads with `losslab.load_result`, as the result the command held.

Each command runs in-process on tiny input; `save_result` is watched, so the loaded file is
compared exactly with the very object the command saved, and then with the library (or, for
networks, with the weights the run wrote) as an independent oracle. Model weights written by
`train --save-weights` are torch state dicts, not results: they load with torch.load.
"""

from __future__ import annotations

import pytest
import torch
from clitools import invoke
from result_helpers import assert_same

import losslab as ll
from losslab.curvature import CriticalPoints, HessianReport
from losslab.landscapes import store
from losslab.results import codec

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["--model", "mlp", "--width", "4", "--depth", "1", "--dataset", "iris"]


@pytest.fixture
def saved(monkeypatch):
    """path -> the result object each save wrote there."""
    written = {}
    real = codec.save_result

    def spy(result, path, **kwargs):
        written[str(path)] = result
        return real(result, path, **kwargs)

    monkeypatch.setattr(codec, "save_result", spy)
    monkeypatch.setattr(store, "save_result", spy)
    return written


def run(*args):
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_every_result_file_of_every_command_loads_back(tmp_path, saved):
    f = tmp_path
    run("race", "bowl", "-p", "gd,newton", "--start", "3,-2", "--lr", "0.1", "--n-steps", "20",
        "--out", f / "race.json")  # fmt: skip
    run("descend", "himmelblau", "--optimizer", "gd", "--start", "0,0", "--lr", "0.01",
        "--n-steps", "30", "--out", f / "descend.json")  # fmt: skip
    run("inspect", "saddle", "--at", "0,0", "--out", f / "inspect.json")
    (f / "inspect_stdout.json").write_text(run("inspect", "saddle", "--at", "1,2", "--json").stdout)
    run("critical", "saddle", "--out", f / "critical.json")
    run("basins", "bowl", "--lr", "0.2", "--resolution", "5", "--n-steps", "10",
        "--out", f / "basins.json")  # fmt: skip
    run("train", *TINY, "--epochs", "1", "--record-every", "2", "--out", f / "train.json",
        "--save-weights", f / "w.pt")  # fmt: skip
    run("train", *TINY, "--epochs", "1", "--record-every", "2", "--out", f / "train.h5")
    run("landscape", *TINY, "--weights", f / "w.pt", "--resolution", "3", "--out", f / "l.h5")
    run("hessian", *TINY, "--weights", f / "w.pt", "--top", "2", "--bottom", "1", "--trace",
        "--density", "--steps", "6", "--out", f / "hessian.json")  # fmt: skip

    expected_types = {
        "race.json": ll.Race,
        "descend.json": ll.Trajectory,
        "inspect.json": ll.CriticalPoint,
        "inspect_stdout.json": ll.CriticalPoint,
        "critical.json": CriticalPoints,
        "basins.json": ll.BasinMap,
        "train.json": ll.TrainingRun,
        "train.h5": ll.TrainingRun,
        "l.h5": ll.Landscape,
        "hessian.json": HessianReport,
    }
    loaded = {name: ll.load_result(f / name) for name in expected_types}
    for name, kind in expected_types.items():
        assert type(loaded[name]) is kind, name
        if str(f / name) in saved:  # the train.h5 run streams; inspect --json prints
            assert_same(saved[str(f / name)], loaded[name], name)
    assert set(saved) == {str(f / n) for n in expected_types} - {
        str(f / "train.h5"),
        str(f / "inspect_stdout.json"),
    }

    # independent oracles: the library, and the weights the training run wrote
    bowl, himmelblau, saddle = (ll.surface(n) for n in ("bowl", "himmelblau", "saddle"))
    race = loaded["race.json"]
    assert [t.optimizer for t in race] == ["gd", "newton"] and race.start == (3.0, -2.0)
    direct = ll.race(bowl, [ll.optim.gd(0.1), ll.optim.newton(0.1)], [3.0, -2.0], 20)
    assert torch.equal(race[0].params, direct[0].params)
    descent = ll.descend(himmelblau, ll.optim.gd(0.01), [0.0, 0.0], 30)
    assert torch.equal(loaded["descend.json"].params, descent.params)
    assert torch.equal(loaded["inspect.json"].eigenvalues, ll.inspect(saddle, [0, 0]).eigenvalues)
    assert torch.equal(loaded["inspect_stdout.json"].point, torch.tensor([1.0, 2.0]).double())
    assert [p.kind for p in loaded["critical.json"]] == ["saddle"]
    basins = ll.basins(bowl, ll.optim.gd(0.2), resolution=5, n_steps=10)
    assert torch.equal(loaded["basins.json"].labels, basins.labels)

    weights = torch.load(f / "w.pt", weights_only=True)
    final = torch.cat([weights[name].reshape(-1) for name in loaded["train.json"].names])
    for name in ("train.json", "train.h5"):
        assert torch.equal(loaded[name].final, final)  # the same seeded run either way
    assert torch.equal(torch.from_numpy(loaded["l.h5"].origin), final.double())
    report = loaded["hessian.json"]
    assert report.objective["n_params"] == final.numel() and report.top.vectors is None
    top = report.top.values
    assert len(top) == 2 and top[0] >= top[1] >= report.bottom.values[0]


def test_the_surface_commands_write_their_numbers_as_hdf5_too(tmp_path, saved):
    import h5py

    f = tmp_path
    commands = {
        "race": ["race", "bowl", "-p", "gd,newton", "--start", "3,-2", "--lr", "0.1",
                 "--n-steps", "20"],
        "descend": ["descend", "himmelblau", "--optimizer", "gd", "--start", "0,0",
                    "--lr", "0.01", "--n-steps", "30"],
        "inspect": ["inspect", "saddle", "--at", "0,0"],
        "critical": ["critical", "saddle"],
        "basins": ["basins", "bowl", "--lr", "0.2", "--resolution", "5", "--n-steps", "10"],
    }  # fmt: skip
    suffixes = {"race": ".h5", "descend": ".hdf5", "inspect": ".h5", "critical": ".HDF5"}
    for name, args in commands.items():
        run(*args, "--out", f / f"{name}.json")
        h5 = f / f"{name}{suffixes.get(name, '.h5')}"
        run(*args, "--out", h5)
        assert h5py.is_hdf5(h5), name  # the suffix picked the format
        loaded = ll.load_result(h5)
        assert_same(saved[str(h5)], loaded, name)  # what the command held
        assert_same(ll.load_result(f / f"{name}.json"), loaded, name)  # the same as its JSON

    # an independent oracle for two of them: the library itself
    race = ll.load_result(f / "race.h5")
    optimizers = [ll.optim.gd(0.1), ll.optim.newton()]  # the shared --lr is gd's alone
    direct = ll.race(ll.surface("bowl"), optimizers, [3.0, -2.0], 20)
    for a, b in zip(race, direct, strict=True):
        assert torch.equal(a.params, b.params)
    assert race.start == (3.0, -2.0)
    basins = ll.basins(ll.surface("bowl"), ll.optim.gd(0.2), resolution=5, n_steps=10)
    assert torch.equal(ll.load_result(f / "basins.h5").labels, basins.labels)
