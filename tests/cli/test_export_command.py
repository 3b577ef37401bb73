"""`losslab export`: a saved landscape written in each format, and one line for what it refuses.

What each format holds is tested against the landscape in tests/test_landscape_export.py; here
the command writes the same bytes as Landscape.export, says what it wrote, and refuses cleanly.
"""

from __future__ import annotations

import numpy as np
import pytest
from clitools import invoke

import losslab as ll

A = np.array([-1.0, 0.0, 1.0])
B = np.array([0.0, 0.5, 1.0, 2.0])


@pytest.fixture
def land_file(tmp_path):
    loss = 1.0 + np.add.outer(A**2, B**2)  # (3, 4), > 0
    land = ll.Landscape((A, B), {"loss": loss, "accuracy": loss / 10}, np.zeros(2), np.eye(2))
    land.save(tmp_path / "land.h5")
    return land, tmp_path / "land.h5"


@pytest.mark.parametrize("suffix", [".vts", ".vtk", ".csv", ".npz"])
def test_export_writes_what_the_library_writes(land_file, tmp_path, suffix):
    land, path = land_file
    out = tmp_path / f"out{suffix}"
    log = suffix in (".vts", ".vtk")  # the height of a grid; .csv/.npz hold raw values
    flags = ["--log"] if log else []
    result = invoke("export", path, "--out", out, "--metric", "accuracy", *flags)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 12 points (3 x 4), metrics loss, accuracy" in " ".join(
        result.output.split()
    )
    land.export(tmp_path / f"direct{suffix}", metric="accuracy", log=log)
    if suffix == ".npz":  # a zip stamps its members' times: compare the arrays
        with np.load(out) as got, np.load(tmp_path / "direct.npz") as want:
            assert list(got) == list(want) == ["a", "b", "loss", "accuracy"]
            assert all(np.array_equal(got[k], want[k]) for k in want)
    else:
        assert out.read_bytes() == (tmp_path / f"direct{suffix}").read_bytes()


def test_the_default_height_is_the_loss(land_file, tmp_path):
    land, path = land_file
    assert invoke("export", path, "--out", tmp_path / "out.vtk").exit_code == 0
    land.export(tmp_path / "direct.vtk", metric="loss")
    assert (tmp_path / "out.vtk").read_text() == (tmp_path / "direct.vtk").read_text()


def one_line_failure(result, *phrases):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_refusals_are_one_line_and_write_nothing(land_file, tmp_path):
    _, path = land_file
    one_line_failure(
        invoke("export", path, "--out", tmp_path / "out.png"),
        "--out:",
        "use one of .vts, .vtk, .csv, .npz",
    )
    one_line_failure(
        invoke("export", path, "--out", tmp_path / "out.vts", "--metric", "error"),
        "metric == 'error'",
    )
    run = ll.descend(ll.surface("himmelblau"), ll.optim.gd(0.01), [0.0, 0.0], 3)
    run.save(tmp_path / "run.json")
    one_line_failure(
        invoke("export", tmp_path / "run.json", "--out", tmp_path / "out.csv"),
        "holds a trajectory",
        "export takes a landscape",
    )
    one_line_failure(
        invoke("export", tmp_path / "missing.h5", "--out", tmp_path / "out.csv"),
        "missing.h5",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["land.h5", "run.json"]
