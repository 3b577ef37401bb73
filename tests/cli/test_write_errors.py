"""Writes that fail (a full disk, /proc, /sys) are one `error:` line, exit 2, and leave nothing
behind; a legal 250-character file name works for every kind of output.

A full disk is simulated deterministically, without root or a mount: the command runs in a
subprocess whose RLIMIT_FSIZE is 4 KiB, with SIGXFSZ ignored, so every write past 4 KiB of a
file fails with EFBIG ("file too large"), as a write to a full disk fails with ENOSPC. Every
output below is larger than 4 KiB; the small files of a landscape's work folder are not.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from clitools import TINY_LANDSCAPE, has_magic, invoke
from test_cli_errors import assert_one_line_error

import losslab
from losslab.io import name_max

FILE_SIZE_LIMIT = 4096
LANDSCAPE = [*TINY_LANDSCAPE]
TRAIN = ["train", "--model", "mlp", "--dataset", "digits", "--epochs", "1"]
LIMITED_LOSSLAB = f"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, resource.RLIM_INFINITY))
from losslab.cli.app import main
sys.argv[0] = "losslab"
main()
"""
needs_rlimit = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE and SIGXFSZ as on Linux"
)


def run_with_a_full_disk(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`losslab *args` in `folder`, in a process that cannot write a file past 4 KiB."""
    source = str(Path(losslab.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", LIMITED_LOSSLAB, *args],
        cwd=folder,
        env={**env, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_write_error(process: subprocess.CompletedProcess, path: str) -> None:
    assert process.returncode == 2, (process.returncode, process.stderr)
    assert "Traceback" not in process.stderr
    lines = process.stderr.splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith(f"error: cannot write '{path}': file too large"), lines[0]


def everything_in(folder: Path) -> list[str]:
    """Every file and folder below `folder`, hidden ones (temporaries) included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@needs_rlimit
@pytest.mark.parametrize(
    ("args", "written"),
    [
        (["race", "rosenbrock", "--out", "race.png"], "race.png"),
        (["basins", "himmelblau", "--resolution", "30", "--out", "map.json"], "map.json"),
        ([*TRAIN, "--save-weights", "net.pt"], "net.pt"),
        ([*TRAIN, "--out", "run.h5"], "run.h5"),  # a TrainingRun streamed while it trains
    ],
    ids=["race png", "basins json", "train save-weights", "train streamed h5"],
)
def test_a_full_disk_is_one_line_and_leaves_nothing(args, written, tmp_path):
    process = run_with_a_full_disk(tmp_path, *args)
    assert_one_write_error(process, written)
    assert everything_in(tmp_path) == []


@needs_rlimit
def test_a_full_disk_during_a_landscape_is_one_line_and_a_rerun_finishes(tmp_path):
    # The run keeps its trained inputs in l.h5.partial first (weights, then the training
    # path): 4 KiB fills there. A full disk at the final write, with the chunks kept for a
    # resume, is tested in tests/test_io.py.
    process = run_with_a_full_disk(tmp_path, *LANDSCAPE, "--out", "l.h5")
    assert_one_write_error(process, "l.h5.partial/run.h5")
    # complete files only: no temporary, no l.h5
    assert everything_in(tmp_path) == ["l.h5.partial", "l.h5.partial/weights.pt"]
    resumed = invoke(*LANDSCAPE, "--out", tmp_path / "l.h5")  # with room: the file is written
    assert resumed.exit_code == 0, resumed.output
    assert everything_in(tmp_path) == ["l.h5"]
    assert losslab.load_result(tmp_path / "l.h5").values["loss"].shape == (3, 3)


@pytest.mark.parametrize("folder", ["/proc", "/sys"])
def test_a_virtual_file_system_is_one_line(folder):
    if not sys.platform.startswith("linux") or not Path(folder).is_dir():
        pytest.skip(f"{folder} is a Linux file system")
    out = f"{folder}/losslab_test.json"
    result = invoke("basins", "himmelblau", "--resolution", "5", "--out", out)
    assert_one_line_error(result, f"cannot write '{out}': ")
    assert result.stdout == ""  # refused before computing
    assert not Path(out).exists()


LONG = "a" * 245  # + a suffix of up to 5 characters: 250 bytes, legal (NAME_MAX is 255)


@pytest.mark.parametrize("suffix", [".json", ".h5", ".png", ".html"])
def test_a_250_character_name_works_for_every_output(suffix, tmp_path, monkeypatch):
    if name_max(tmp_path) < 250:
        pytest.skip("this file system takes shorter names")
    monkeypatch.chdir(tmp_path)
    name = (LONG + suffix).rjust(250, "a")
    result = invoke("basins", "himmelblau", "--resolution", "5", "--out", name)
    assert result.exit_code == 0, result.output
    assert everything_in(tmp_path) == [name]
    if suffix in (".json", ".h5"):
        assert losslab.load_result(name).result_type == "basin_map"
    else:
        assert has_magic(tmp_path / name)


def test_a_250_character_name_works_for_a_landscape(tmp_path, monkeypatch):
    if name_max(tmp_path) < 250:
        pytest.skip("this file system takes shorter names")
    monkeypatch.chdir(tmp_path)
    land = "l" * 247 + ".h5"  # its work folder 'l...l.h5.partial' would be 258 bytes
    result = invoke(*LANDSCAPE, "--out", land)
    assert result.exit_code == 0, result.output
    assert everything_in(tmp_path) == [land]  # no work folder left either
    assert losslab.load_result(land).values["loss"].shape == (3, 3)


def test_a_250_character_name_works_for_weights_and_a_streamed_run(tmp_path, monkeypatch):
    from losslab.cli.network_setup import prepare

    if name_max(tmp_path) < 250:
        pytest.skip("this file system takes shorter names")
    monkeypatch.chdir(tmp_path)
    weights, run = "w" * 247 + ".pt", "r" * 247 + ".h5"
    result = invoke(*TRAIN, "--out", run, "--save-weights", weights)
    assert result.exit_code == 0, result.output
    assert everything_in(tmp_path) == sorted([run, weights])
    assert losslab.load_result(run).n_records >= 2
    saved = torch.load(weights, weights_only=True)
    model = prepare("mlp", "digits", None, None, None, None, 0, None).model
    assert {k: v.shape for k, v in saved.items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }


def test_a_full_disk_met_outside_the_atomic_write_is_one_line_and_other_errors_are_not_hidden(
    monkeypatch,
):
    from losslab.cli import descent

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "work/folder")

    monkeypatch.setattr(descent, "run_all", full)
    assert_one_line_error(invoke("race", "bowl"), "cannot write 'work/folder': no space left")

    def missing(*args, **kwargs):
        raise OSError(errno.ENOENT, "No such file or directory", "gone")

    monkeypatch.setattr(descent, "run_all", missing)
    result = invoke("race", "bowl")
    assert isinstance(result.exception, FileNotFoundError)  # a bug: its traceback stays
