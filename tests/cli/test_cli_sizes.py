"""Issue 11's size and overflow reproductions through the CLI: one `error:` line naming the
cost and the limit, exit 2, nothing written. The available memory is patched to 1 GB so the
messages are exact and nothing big is ever allocated; one case runs the real entry point in a
subprocess against the machine's real memory."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from clitools import TINY_LANDSCAPE, invoke
from test_cli_errors import assert_one_line_error

from losslab import budget

LS = [*TINY_LANDSCAPE]
DIGITS = ["--model", "mlp", "--dataset", "digits", "--epochs", "1"]

CASES = [
    (
        ["basins", "himmelblau", "--resolution", "100000"],
        "basins resolution == 100000 needs about 2.2 TB (1e+10 points x 28 float64 numbers "
        "each); this machine has 1 GB available: use resolution <= 2112.",
    ),
    (
        ["race", "himmelblau", "--n-steps", "10000000000"],
        "race n_steps == 10000000000 needs about 1.9 TB (10000000001 rows x 3 runs x 4 float64 "
        "numbers, twice); this machine has 1 GB available: use n_steps <= 5208332.",
    ),
    (
        ["descend", "himmelblau", "--n-steps", "10000000000"],
        "race n_steps == 10000000000 needs about 640 GB",
    ),
    (
        LS[:-4] + ["--resolution", "100000", "--epochs", "1", "--out", "big.h5"],
        "landscape resolution == 100000 needs about 640 GB (1e+10 points x 8 float64 numbers "
        "each); this machine has 1 GB available: use resolution <= 3952.",
    ),
    (LS + ["--span", "1e308"], "span == 1e+308 overflows: the grid reaches"),
    (LS + ["--lr", "1e308"], "lr == 1e+308, must be a finite number in (0, 1e+06]."),
    (["landscape", *DIGITS, "--width", "100000"], "mlp width == 100000 needs about 400 GB"),
    (["train", *DIGITS, "--width", "100000", "--out", "run.json"], "mlp width == 100000 needs"),
    (["train", *DIGITS, "--width", "1000000000"], "mlp width == 1000000000 needs about"),
    (
        ["landscape", *DIGITS, "--depth", "100000"],
        "mlp depth == 100000 is more than the 1,000 layers losslab allows: use depth <= 1000.",
    ),
    (
        ["train", "--model", "mlp", "--data", "huge_label.npz", "--epochs", "1"],
        "dataset 'huge_label' n_classes == 2147483648 needs about 260 GB",
    ),
]


@pytest.mark.parametrize(("args", "phrase"), CASES, ids=lambda v: " ".join(v[-4:]))
def test_sizes_that_do_not_fit_are_one_line_and_write_nothing(args, phrase, tmp_path, monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, str(10**9))
    monkeypatch.chdir(tmp_path)
    y = np.zeros(10, dtype=np.int64)
    y[3] = 2**31 - 1
    np.savez("huge_label.npz", X=np.zeros((10, 2), dtype=np.float32), y=y)
    result = invoke(*args)
    assert_one_line_error(result, phrase)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge_label.npz"]


def test_the_real_entry_point_refuses_against_the_real_memory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != budget.MEMORY_ENV}
    done = subprocess.run(
        [sys.executable, "-c", "from losslab.cli.app import main; main()"]
        + ["basins", "himmelblau", "--resolution", "100000", "--out", "map.json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: basins resolution == 100000 needs")
    assert "available: use resolution <= " in lines[0]
    assert list(tmp_path.iterdir()) == []
