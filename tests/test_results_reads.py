"""Issue 11's reads that tracebacked or accepted garbage: each is now refused, through
`ll.load_result` and through `losslab plot` / `--trajectory`, with one line naming the file
and the field; a file from a newer losslab of a known format still loads."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import torch
from result_helpers import assert_same
from torch import nn
from typer.testing import CliRunner

import losslab as ll
from losslab.cli.app import app
from losslab.errors import LosslabError
from losslab.results.kinds import check_result, check_shapes, check_value

pytestmark = pytest.mark.usefixtures("one_thread")
RUNNER = CliRunner()
DTYPES = "float16, float32, float64, bfloat16, int8, int16, int32, int64, uint8, bool"


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """A landscape (.h5), a trajectory, a basin map and a training run (.json), saved."""
    folder = tmp_path_factory.mktemp("originals")
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    data = (torch.randn(16, 2), torch.randint(0, 2, (16,)))
    run = ll.train(model, data, epochs=2, batch_size=8)
    objective = ll.ModelObjective(model, "cross_entropy", data)
    land = ll.landscape(objective, ll.directions.random(model, 2, seed=0), resolution=4)
    surface = ll.surface("himmelblau")
    return {
        "landscape": land.save(folder / "land.h5"),
        "trajectory": ll.descend(surface, ll.optim.gd(0.01), [0, 0], 5).save(folder / "t.json"),
        "basin_map": ll.basins(surface, ll.optim.gd(0.01), resolution=3).save(folder / "b.json"),
        "training_run": run.save(folder / "run.json"),
        "run_h5": run.save(folder / "run.h5"),
    }


def h5_attribute(name, value):
    def change(handle):
        handle.attrs[name] = value

    return change


def h5_metadata(**entries):
    def change(handle):
        handle.attrs["metadata"] = json.dumps({**json.loads(handle.attrs["metadata"]), **entries})

    return change


def h5_dataset(path, values):
    def change(handle):
        del handle[path]
        handle[path] = values

    return change


# (what, change to the saved landscape, the message after "'<file>'")
LANDSCAPES = [
    (
        "format_version is an array",
        h5_attribute("format_version", np.array([1, 1])),
        " has format_version array([1, 1]) for its 'landscape' record, not a positive integer: "
        "the file is damaged.",
    ),
    (
        "metadata is a JSON list",
        h5_attribute("metadata", "[1, 2]"),
        ": attribute 'metadata' must be a JSON object, got a list.",
    ),
    (
        "metadata is a JSON integer",
        h5_attribute("metadata", "7"),
        ": attribute 'metadata' must be a JSON object, got a number.",
    ),
    (
        "metadata is an integer attribute",
        h5_attribute("metadata", 7),
        ": attribute 'metadata' must be JSON text, got a number.",
    ),
    (
        "values are byte strings",
        h5_dataset("values/loss", np.full((4, 4), b"abc")),
        f": dataset 'values/loss' holds |S3, must be one of {DTYPES}.",
    ),
    (
        "coordinates of the wrong shape",
        h5_dataset("coords/0", np.zeros((4, 2))),
        ": coords[0] must be a non-empty 1-D array of finite numbers, got shape (4, 2).",
    ),
    (
        "coordinates of the wrong length",
        h5_dataset("coords/0", np.zeros(3)),
        ": values['loss'] has shape (4, 4), the grid is (3, 4).",
    ),
    (
        "coordinates hold NaN",
        h5_dataset("coords/1", np.array([0.0, np.nan, 1.0, 2.0])),
        ": coords[1] must be a non-empty 1-D array of finite numbers, got shape (4,) with NaN "
        "or infinity.",
    ),
    (
        "value_keys are integers",
        h5_metadata(value_keys=[1, 2]),
        ": field 'metadata.value_keys' must be a list of strings, got a list holding a number.",
    ),
    (
        "losslab_version is a number",
        h5_attribute("losslab_version", 99),
        ": field 'losslab_version' must be a string, got a number.",
    ),
    (
        "metadata's directions are a list",
        h5_metadata(directions=[1]),
        ": field 'metadata.directions' must be an object or null, got a list.",
    ),
]


def json_field(name, value):
    def change(record):
        record[name] = value

    return change


def json_array(name, key, value):
    def change(record):
        record[name][key] = value

    return change


def json_without(name):
    def change(record):
        del record[name]

    return change


# (what, saved file, change to its record, the message after "'<file>'")
RECORDS = [
    (
        "dtype float65",
        "trajectory",
        json_array("params", "dtype", "float65"),
        f": field 'params' has dtype 'float65', must be one of {DTYPES}.",
    ),
    (
        "a shape that does not match the data",
        "trajectory",
        json_array("params", "shape", [3, 3]),
        ": field 'params' has shape [3, 3], so its data must be a flat list of 9 numbers, "
        "got 12 items.",
    ),
    ("a missing field", "trajectory", json_without("losses"), ": field 'losses' is missing."),
    (
        "a status of 12",
        "trajectory",
        json_field("status", 12),
        ": field 'status' must be a string or a list of strings, got a number.",
    ),
    (
        "a status of '12'",
        "trajectory",
        json_field("status", "12"),
        ": status '12' is not one of 'max_steps', 'converged', 'diverged'.",
    ),
    (
        "params as a bare float",
        "trajectory",
        json_field("params", 1.5),
        ": field 'params' must be an array of floats, got a number.",
    ),
    (
        "complex labels",
        "basin_map",
        json_array("labels", "dtype", "complex64"),
        f": field 'labels' has dtype 'complex64', must be one of {DTYPES}.",
    ),
    (
        "labels beyond the minima",
        "basin_map",
        json_array("labels", "data", [7] * 9),
        ": labels must be -2, -1 or an index below 4 into minima.",
    ),
    (
        "losslab_version 99",
        "trajectory",
        json_field("losslab_version", 99),
        ": field 'losslab_version' must be a string, got a number.",
    ),
    (
        "losslab_version 999",
        "training_run",
        json_field("losslab_version", 999),
        ": field 'losslab_version' must be a string, got a number.",
    ),
    (
        "a run's status of 12",
        "training_run",
        json_field("status", 12),
        ": field 'status' must be a string, got a number.",
    ),
    (
        "a run's steps as floats",
        "training_run",
        json_array("steps", "dtype", "float64"),
        ": field 'steps' must be an array of integers, got an array of float64 of shape (5,).",
    ),
    (
        "int8 data out of range",
        "basin_map",
        lambda record: record["labels"].update(dtype="int8", data=[300] * 9),
        ": field 'labels' has data that are not all integers in the range of int8.",
    ),
]


def corrupted_landscape(originals, folder, change):
    path = folder / "land.h5"
    path.write_bytes(originals["landscape"].read_bytes())
    with h5py.File(path, "r+") as handle:
        change(handle)
    return path


def corrupted_record(originals, folder, name, change):
    path = folder / f"{name}.json"
    record = json.loads(originals[name].read_text())
    change(record)
    path.write_text(json.dumps(record))
    return path


def refusal(path) -> str:
    with pytest.raises(LosslabError) as error:
        ll.load_result(path)
    return str(error.value)


@pytest.mark.parametrize(("what", "change", "message"), LANDSCAPES, ids=[c[0] for c in LANDSCAPES])
def test_a_broken_landscape_file_is_one_line_naming_the_field(
    originals, tmp_path, what, change, message
):
    path = corrupted_landscape(originals, tmp_path, change)
    assert refusal(path) == f"'{path}'{message}"


@pytest.mark.parametrize(
    ("what", "name", "change", "message"), RECORDS, ids=[c[0] for c in RECORDS]
)
def test_a_broken_json_result_is_one_line_naming_the_field(
    originals, tmp_path, what, name, change, message
):
    path = corrupted_record(originals, tmp_path, name, change)
    assert refusal(path) == f"'{path}'{message}"


def test_a_newer_losslab_version_of_a_known_format_loads(originals, tmp_path):
    """The format version is the contract: losslab_version only says who wrote the file.
    A newer format is refused (tests/test_results_codec.py); a newer writer of a format
    this losslab reads is not."""
    for name in ("trajectory", "training_run"):
        path = corrupted_record(originals, tmp_path, name, json_field("losslab_version", "999"))
        assert_same(ll.load_result(originals[name]), ll.load_result(path))
    land = corrupted_landscape(originals, tmp_path, h5_attribute("losslab_version", "99.0"))
    assert_same(ll.load_result(originals["landscape"]), ll.load_result(land))


def test_sizes_a_file_claims_are_checked_before_memory_is_taken(originals, tmp_path):
    """A declared shape of 10^12 numbers, a dataset of 8 GB that the file cannot hold, and
    JSON nested 100,000 deep: each one line, nothing allocated for what the file claims."""
    path = corrupted_record(
        originals, tmp_path, "trajectory", json_array("params", "shape", [10**6, 10**6])
    )
    assert "must be a flat list of 1000000000000 numbers, got 12 items." in refusal(path)
    land = corrupted_landscape(originals, tmp_path, lambda handle: None)
    with h5py.File(land, "r+") as handle:
        del handle["origin"]
        handle.create_dataset("origin", shape=(10**9,), dtype="f8", chunks=(1024,))
    assert "dataset 'origin' claims 8000000000 bytes, more than the file holds" in refusal(land)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    message = refusal(deep)
    assert message.startswith(f"cannot read result file '{deep}': RecursionError")
    assert "\n" not in message


def test_a_broken_run_h5_is_one_line(originals, tmp_path):
    path = tmp_path / "run.h5"
    cases = {
        "n_records": (h5_attribute("n_records", 99), "attribute 'n_records' must be an integer"),
        "steps": (h5_dataset("steps", np.full(5, 1 + 2j)), "dataset 'steps' holds complex128"),
        "metadata": (h5_attribute("metadata", "[]"), "attribute 'metadata' must be a JSON obj"),
    }
    for what, (change, phrase) in cases.items():
        path.write_bytes(originals["run_h5"].read_bytes())
        with h5py.File(path, "r+") as handle:
            change(handle)
        message = refusal(path)
        assert message.startswith(f"'{path}': {phrase}"), (what, message)


def test_kinds_come_from_the_annotations_and_name_the_field():
    trajectory = ll.descend(ll.surface("bowl"), ll.optim.gd(0.1), [1.0, 1.0], 3)
    check_result(trajectory)
    with pytest.raises(LosslabError, match="^field 'tol' must be a number, got a string.$"):
        check_result(dataclasses.replace(trajectory, tol="x"))
    for kind, value in [(int, True), (float, "1"), (str, None), (tuple[int, int], (1,))]:
        with pytest.raises(LosslabError, match="^field 'x' must be"):
            check_value(kind, value, "x")
    check_value(tuple[int, int] | None, None, "x")
    basins = ll.basins(ll.surface("bowl"), ll.optim.gd(0.1), resolution=2)
    with pytest.raises(LosslabError, match="^coords hold NaN or infinity.$"):
        dataclasses.replace(basins, coords=(torch.tensor([0.0, np.nan]), basins.coords[1]))


def test_shapes_are_declared_once_and_checked_across_fields():
    point = ll.inspect(ll.surface("saddle"), [0.0, 0.0])
    check_shapes(point, {"point": ("n",), "hessian": ("n", "n")})
    odd = SimpleNamespace(point=torch.zeros(3), hessian=torch.zeros(2, 2), none=None)
    with pytest.raises(
        LosslabError, match=r"^field 'hessian' has shape \(2, 2\), must be \(n=3, n=3\)\.$"
    ):
        check_shapes(odd, {"point": ("n",), "none": ("n",), "hessian": ("n", "n")})
    with pytest.raises(
        LosslabError, match=r"^field 'gradient' has shape \(3,\), must be \(n=2\)\.$"
    ):
        dataclasses.replace(point, gradient=torch.zeros(3))
    with pytest.raises(
        LosslabError, match="^kind 'peak' / curvature 'indefinite': kind must be one"
    ):
        dataclasses.replace(point, kind="peak")
    pairs = ll.curvature.eigenvalues(ll.surface("himmelblau"), k=2, at=[0.0, 0.0])
    with pytest.raises(
        LosslabError, match=r"^field 'vectors' has shape \(3, 2\), must be \(k=2, n\)"
    ):
        dataclasses.replace(pairs, vectors=torch.zeros(3, 2))
    with pytest.raises(LosslabError, match="^which == 'middle', must be 'largest' or 'smallest'.$"):
        dataclasses.replace(pairs, which="middle")


# -- through the command line -------------------------------------------------------------------

# (what, change to a saved training run's record, the field its message names)
RUNS = [
    ("dtype float65", json_array("params", "dtype", "float65"), "field 'params' has dtype"),
    ("shape", json_array("params", "shape", [3, 3]), "field 'params' has shape [3, 3]"),
    ("a missing field", json_without("steps"), "field 'steps' is missing."),
    ("a status of 12", json_field("status", 12), "field 'status' must be a string"),
    ("params as a bare float", json_field("params", 1.5), "field 'params' must be an array"),
    ("losslab_version 99", json_field("losslab_version", 99), "field 'losslab_version' must"),
]


def plot(*args):
    """`losslab plot ...` in this process (the exit code and stderr are the CLI's own)."""
    return RUNNER.invoke(app, ["plot", *map(str, args)], env={"COLUMNS": "200"})


def assert_one_error_line(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(("what", "change", "message"), LANDSCAPES, ids=[c[0] for c in LANDSCAPES])
def test_losslab_plot_refuses_a_broken_landscape_in_one_line(
    originals, tmp_path, monkeypatch, what, change, message
):
    monkeypatch.chdir(tmp_path)
    corrupted_landscape(originals, tmp_path, change)
    line = assert_one_error_line(plot("land.h5", "--out", "fig.png"))
    assert line == f"error: 'land.h5'{message}"
    assert not (tmp_path / "fig.png").exists()


@pytest.mark.parametrize(("what", "change", "phrase"), RUNS, ids=[c[0] for c in RUNS])
def test_losslab_plot_refuses_a_broken_trajectory_in_one_line(
    originals, tmp_path, monkeypatch, what, change, phrase
):
    monkeypatch.chdir(tmp_path)
    corrupted_record(originals, tmp_path, "training_run", change)
    result = plot(originals["landscape"], "--out", "fig.png", "--trajectory", "training_run.json")
    line = assert_one_error_line(result)
    assert line.startswith(f"error: --trajectory: 'training_run.json': {phrase}")
    assert not (tmp_path / "fig.png").exists()


def test_the_real_entry_point_exits_2_with_one_line(originals, tmp_path):
    """The same through `losslab`'s own main in a process of its own."""
    path = corrupted_landscape(originals, tmp_path, LANDSCAPES[4][1])  # values as bytes
    done = subprocess.run(
        [sys.executable, "-c", "from losslab.cli.app import main; main()", "plot", path.name]
        + ["--out", "fig.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.splitlines() == [f"error: '{path.name}'{LANDSCAPES[4][2]}"]
    assert not (tmp_path / "fig.png").exists()
