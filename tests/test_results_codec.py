"""The one result codec: every registered type round-trips through JSON and HDF5 exactly; files
are self-describing; newer formats, foreign and damaged files are refused with one line; a
failed write leaves nothing behind; JSON refuses results above its size limit."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
from result_helpers import assert_same
from torch import nn

import losslab as ll
from losslab import curvature
from losslab.curvature import HessianReport
from losslab.errors import LosslabError
from losslab.objectives.model import ModelObjective
from losslab.results import codec, load_result, registered, save_result, to_json
from losslab.results.encoding import HEADER_KEYS

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    X, y = torch.randn(24, 3), torch.randint(0, 2, (24,))
    return model, ModelObjective(model, "cross_entropy", (X, y))


def hessian_report():
    _, objective = tiny_network()
    return HessianReport(
        objective.describe(),
        "mlp",
        "random",
        "at the initial weights",
        ("0.weight",),
        top=curvature.eigenvalues(objective, k=2, params="0.weight"),
        bottom=curvature.eigenvalues(objective, k=1, which="smallest"),
        trace=curvature.trace(objective, 10),
        density=curvature.density(objective, 2, 5),
    )


def connectivity_path():
    torch.manual_seed(1)
    X, y = torch.randn(24, 3), torch.randint(0, 2, (24,))
    model_b = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    return ll.connectivity.linear_path(
        tiny_network()[0], model_b, "cross_entropy", (X, y), n_points=5
    )


def race():
    return ll.race(ll.surface("bowl"), [ll.optim.gd(0.1), ll.optim.newton()], [3.0, -2.0], 10)


def landscape():
    with_nan = ll.landscape(ll.surface("himmelblau"), resolution=5)
    values = {"loss": with_nan.values["loss"].copy()}
    values["loss"][0, 0] = np.nan  # non-finite values survive both formats
    return dataclasses.replace(with_nan, values=values)


# One example per registered type. A new result type (symmetry, connectivity, ...) adds its
# example here: test_every_registered_type_has_an_example fails until it does.
EXAMPLES = {
    "trajectory": lambda: ll.descend(ll.surface("himmelblau"), ll.optim.adam(0.05), [0, 0], 20),
    "race": race,
    "basin_map": lambda: ll.basins(ll.surface("himmelblau"), ll.optim.gd(0.01), resolution=4),
    "critical_point": lambda: ll.inspect(ll.surface("saddle"), [0.0, 0.0]),
    "critical_points": lambda: ll.critical_points(ll.surface("himmelblau"), resolution=9),
    "diagnosis": lambda: ll.diagnose(
        ll.surface("saddle"), ll.descend(ll.surface("saddle"), ll.optim.newton(), [1, 0], 5)
    ),
    "landscape": landscape,
    "training_run": lambda: ll.train(
        nn.Linear(2, 2), (torch.randn(16, 2), torch.randint(0, 2, (16,))), epochs=2, batch_size=8
    ),
    "directions": lambda: ll.directions.random(tiny_network()[0], 2, seed=3),
    "eigenpairs": lambda: curvature.eigenvalues(tiny_network()[1], k=2),
    "extremes": lambda: curvature.extremes(tiny_network()[1]),
    "trace_estimate": lambda: curvature.trace(tiny_network()[1], 8),
    "spectrum": lambda: curvature.density(tiny_network()[1], 2, 6),
    "sharpness": lambda: curvature.sharpness(tiny_network()[1], n_probes=6),
    "epsilon_sharpness": lambda: curvature.epsilon_sharpness(tiny_network()[1], n_steps=3),
    "curvature_map": lambda: curvature.curvature_map(
        ll.surface("himmelblau"), torch.eye(2, dtype=torch.float64), span=2.0, resolution=3
    ),
    "hessian_report": hessian_report,
    "connectivity_path": connectivity_path,
    "permutation": lambda: ll.symmetry.random_permutation(tiny_network()[0], seed=4),
}


@pytest.fixture(scope="module")
def examples():
    return {name: EXAMPLES[name]() for name in registered()}


def test_every_registered_type_has_an_example_and_no_field_shadows_the_header():
    assert set(registered()) <= set(EXAMPLES), "add an example of each new result type"
    for name, cls in registered().items():
        assert cls.result_type == name
        clash = {f.name for f in dataclasses.fields(cls)} & set(HEADER_KEYS)
        assert not clash, (name, clash)


@pytest.mark.parametrize("suffix", [".json", ".h5", ".hdf5"])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_type_round_trips_exactly(examples, tmp_path, name, suffix):
    if name not in examples:
        pytest.skip(f"'{name}' is not registered on this branch")
    result = examples[name]
    path = result.save(tmp_path / f"{name}{suffix}")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left
    for loaded in (load_result(path), type(result).load(path)):
        assert_same(result, loaded)
    if suffix == ".json":
        assert path.read_text() == to_json(result)  # what to_json and --json print
        assert_same(result, type(result).from_dict(json.loads(path.read_text())))


def test_files_describe_themselves(examples, tmp_path):
    trajectory = examples["trajectory"]
    record = json.loads(trajectory.save(tmp_path / "t.json").read_text())
    assert record["result"] == "trajectory" and record["format_version"] == 1
    assert record["losslab_version"] == ll.__version__
    with h5py.File(trajectory.save(tmp_path / "t.h5")) as handle:
        assert handle.attrs["losslab_result"] == "trajectory"
        assert handle.attrs["format_version"] == 1
        assert handle.attrs["losslab_version"] == ll.__version__
        assert handle["params"].shape == tuple(trajectory.params.shape)  # a dataset per array
        assert json.loads(handle.attrs["fields"])["optimizer"] == "adam"
    land = examples["landscape"]
    with h5py.File(land.save(tmp_path / "l.h5")) as handle:
        assert json.loads(handle.attrs["spec"]) == land.spec()
        assert json.loads(handle.attrs["metadata"])["spec_hash"] == handle.attrs["spec_hash"]
    assert json.loads(land.save(tmp_path / "l.json").read_text())["spec"] == land.spec()
    with h5py.File(examples["race"].save(tmp_path / "r.h5")) as handle:
        assert np.array_equal(handle["trajectories/1/params"][()], examples["race"][1].params)


def bump(path, nested: bool = False):
    """Rewrite a saved file as if a newer losslab had written it."""
    if path.suffix == ".json":
        record = json.loads(path.read_text())
        target = record["trajectories"][0] if nested else record
        target["format_version"] += 1
        path.write_text(json.dumps(record))
    else:
        with h5py.File(path, "r+") as handle:
            handle.attrs["format_version"] = int(handle.attrs["format_version"]) + 1


@pytest.mark.parametrize("name", ["trajectory", "landscape", "training_run"])
@pytest.mark.parametrize("suffix", [".json", ".h5"])
def test_a_newer_format_is_refused_with_one_line(examples, tmp_path, name, suffix):
    path = examples[name].save(tmp_path / f"x{suffix}")
    bump(path)
    with pytest.raises(LosslabError) as error:
        load_result(path)
    assert str(error.value) == (
        f"'{path}' is a losslab '{name}' file of format 2; this losslab reads up to 1: "
        "upgrade losslab."
    )


def test_a_newer_nested_record_is_refused_too(examples, tmp_path):
    path = examples["race"].save(tmp_path / "race.json")
    bump(path, nested=True)
    with pytest.raises(LosslabError, match="holds a losslab 'trajectory' record of format 2; th"):
        load_result(path)


def test_a_type_of_a_newer_losslab_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "sym.json"
    path.write_text(json.dumps({"result": "symmetry", "losslab_version": "9.0"}))
    with pytest.raises(LosslabError, match="'symmetry' file, a result type this losslab does not"):
        load_result(path)


def damaged_files(folder, examples):
    """name -> (path, phrase of the one-line refusal)."""
    good = examples["trajectory"].save(folder / "good.json")
    text = good.read_text()
    h5 = examples["trajectory"].save(folder / "good.h5")
    files = {
        "missing": (folder / "missing.json", "does not exist"),
        "folder": (folder, "is not a file"),
        "empty": (folder / "empty.json", "neither JSON nor HDF5"),
        "binary": (folder / "binary.bin", "neither JSON nor HDF5"),
        "truncated json": (folder / "cut.json", "neither JSON nor HDF5"),
        "a json list": (folder / "list.json", "is a JSON file but not a losslab result file"),
        "foreign json": (folder / "other.json", "is a JSON file but not a losslab result file"),
        "missing field": (folder / "nofield.json", "field 'params' is missing."),
        "bad dtype": (folder / "dtype.json", "field 'params' has dtype 'float99', must be"),
        "bad version": (folder / "version.json", "format_version 'two'"),
        "foreign h5": (folder / "other.h5", "is an HDF5 file but not a losslab result file"),
        "truncated h5": (folder / "cut.h5", "cannot read result file"),
        "h5 without a dataset": (folder / "nodata.h5", "dataset 'params' is missing."),
    }
    (folder / "empty.json").write_text("")
    (folder / "binary.bin").write_bytes(bytes(range(256)))
    (folder / "cut.json").write_text(text[: len(text) // 2])
    (folder / "list.json").write_text("[1, 2]")
    (folder / "other.json").write_text('{"hello": 1}')
    record = json.loads(text)
    (folder / "nofield.json").write_text(
        json.dumps({k: v for k, v in record.items() if k != "params"})
    )
    (folder / "dtype.json").write_text(text.replace('"float64"', '"float99"', 1))
    (folder / "version.json").write_text(json.dumps({**record, "format_version": "two"}))
    with h5py.File(folder / "other.h5", "w") as handle:
        handle["x"] = [1, 2]
    (folder / "cut.h5").write_bytes(h5.read_bytes()[:600])
    (folder / "nodata.h5").write_bytes(h5.read_bytes())
    with h5py.File(folder / "nodata.h5", "r+") as handle:
        del handle["params"]
    return files


def test_damaged_and_foreign_files_are_one_line_errors(examples, tmp_path):
    for name, (path, phrase) in damaged_files(tmp_path, examples).items():
        with pytest.raises(LosslabError) as error:
            load_result(path)
        message = str(error.value)
        assert phrase in message and "\n" not in message, (name, message)
        assert str(path) in message, (name, message)


def test_a_file_of_another_type_is_refused_by_a_typed_load(examples, tmp_path):
    path = examples["landscape"].save(tmp_path / "l.h5")
    with pytest.raises(LosslabError, match="is a losslab 'landscape' file, not a 'trajectory'"):
        ll.Trajectory.load(path)
    with pytest.raises(LosslabError, match="not a losslab trajectory file"):
        ll.Trajectory.from_dict({"hello": 1})


def test_the_suffix_picks_the_format(examples, tmp_path):
    trajectory = examples["trajectory"]
    assert trajectory.save(tmp_path / "t.json").read_text().startswith("{")
    assert h5py.is_hdf5(trajectory.save(tmp_path / "t.HDF5"))
    with pytest.raises(LosslabError, match=r"use \.json, \.h5 or \.hdf5"):
        trajectory.save(tmp_path / "t.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.HDF5", "t.json"]
    with pytest.raises(LosslabError, match="not a losslab result: nothing to save"):
        save_result({"a": 1}, tmp_path / "x.json")


def test_json_holds_at_most_json_max_values_numbers(examples, tmp_path, monkeypatch):
    race = examples["race"]
    n_numbers = sum(t.params.numel() + t.losses.numel() + t.grad_norms.numel() for t in race)
    monkeypatch.setattr(codec, "JSON_MAX_VALUES", n_numbers)
    assert load_result(race.save(tmp_path / "ok.json")).n_steps == race.n_steps
    monkeypatch.setattr(codec, "JSON_MAX_VALUES", n_numbers - 1)
    with pytest.raises(LosslabError) as error:
        race.save(tmp_path / "big.json")
    assert str(error.value) == (
        f"a 'race' of {n_numbers} numbers is too big for JSON (at most {n_numbers - 1}): "
        f"save it as '{tmp_path / 'big.h5'}'."
    )
    assert not (tmp_path / "big.json").exists()
    assert_same(race, load_result(race.save(tmp_path / "big.h5")))


# -- atomicity ----------------------------------------------------------------------------------


class Interrupted(BaseException):
    """Stands for Ctrl-C or a crash between two writes."""


@pytest.mark.parametrize("suffix", [".json", ".h5"])
@pytest.mark.parametrize("name", ["trajectory", "landscape", "training_run", "race"])
def test_a_failure_mid_write_leaves_no_file_and_no_temporary(
    examples, tmp_path, monkeypatch, name, suffix
):
    result = examples[name]
    before = result.save(tmp_path / f"kept{suffix}").read_bytes()
    written = []

    def write_then_fail(self, data, *args, **kwargs):
        with open(self, "w") as handle:
            handle.write(data[: len(data) // 2])
        written.append(self)
        raise Interrupted

    def create_then_fail(self, *args, **kwargs):
        written.append(self.file.filename)
        raise Interrupted

    if suffix == ".json":
        monkeypatch.setattr(type(tmp_path), "write_text", write_then_fail)
    else:
        monkeypatch.setattr(h5py.Group, "create_dataset", create_then_fail)
    for target in (tmp_path / f"new{suffix}", tmp_path / f"kept{suffix}"):
        with pytest.raises(Interrupted):
            result.save(target)
    assert written and all(w.startswith(str(tmp_path / ".")) for w in map(str, written))
    assert [p.name for p in tmp_path.iterdir()] == [f"kept{suffix}"]
    assert (tmp_path / f"kept{suffix}").read_bytes() == before  # the old file is intact


def test_temporaries_are_swept_and_nothing_else(tmp_path):
    from losslab.io import atomic_path, remove_temporaries

    with pytest.raises(Interrupted), atomic_path(tmp_path / "a.json") as tmp:
        tmp.write_text("half")
        assert tmp.parent == tmp_path and tmp.name.startswith(".a.json.")
        leftover = tmp.read_bytes()
        raise Interrupted
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".a.json.x1y2.part").write_bytes(leftover)  # what a kill -9 leaves
    (tmp_path / "a.part").write_text("a user's file")
    (tmp_path / ".hidden").write_text("a user's file")
    remove_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "a.part"]


def test_files_of_losslab_0_1_still_load(examples, tmp_path):
    """0.1 wrote no format_version, and named a training run's HDF5 type attribute 'result'."""
    run = examples["training_run"]
    old_h5 = run.save(tmp_path / "run.h5")
    with h5py.File(old_h5, "r+") as handle:
        del handle.attrs["losslab_result"], handle.attrs["format_version"]
        handle.attrs["result"] = "training_run"
    old_json = examples["trajectory"].save(tmp_path / "t.json")
    record = json.loads(old_json.read_text())
    del record["format_version"]
    old_json.write_text(json.dumps(record))
    assert_same(run, load_result(old_h5))
    assert_same(examples["trajectory"], load_result(old_json))


def test_import_losslab_registers_every_type(examples):
    """A bare `import losslab` knows every type the tests know: load_result needs no hints."""
    script = "import losslab, losslab.results as r; print(' '.join(sorted(r.registered())))"
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert found.stdout.split() == sorted(registered())


def test_a_hessian_report_keeps_eigenvalues_not_vectors(examples, tmp_path):
    report = examples["hessian_report"]
    direct = curvature.eigenvalues(tiny_network()[1], k=2, params="0.weight")
    assert direct.vectors.shape == (2, 12) and direct.index is not None
    loaded = load_result(report.save(tmp_path / "report.json"))
    assert torch.equal(loaded.top.values, direct.values) and loaded.params == ("0.weight",)
    assert loaded.top.vectors is None and loaded.top.index is None
    with pytest.raises(LosslabError, match="kept no vectors"):
        loaded.top.full_vectors()
