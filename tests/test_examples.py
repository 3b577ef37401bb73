"""examples/ runs as its files say, in a fresh copy: make_data.py writes the data and weights,
the README's `losslab landscape --model my_net.py:make ...` line draws a landscape from them,
and dataloader_example.py computes one over a DataLoader; every file written loads back and
holds the numbers a direct computation gives. (About 10 s: two Python processes and a 51x51
landscape, the README's command as written.)"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import losslab as ll
from losslab.cli.app import app
from losslab.cli.model_loading import build_user_model, load_weights, parse_model

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(ll.__file__).resolve().parents[1]


def readme_command() -> list[str]:
    """The README's `losslab landscape --model my_net.py:...` line, without `losslab` and its
    comment; every such line in the README must be the same command."""
    lines = {
        line.partition("#")[0].strip()
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.strip().startswith("losslab landscape") and "my_net.py:" in line
    }
    assert len(lines) == 1, f"the README shows {len(lines)} my_net.py landscape commands"
    words = shlex.split(lines.pop())
    return words[1:]


def run_script(folder: Path, name: str) -> subprocess.CompletedProcess:
    """`python name` in `folder`, as a user runs it, with this checkout's losslab."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",  # tiny models; the test machine's cores are shared
    }
    done = subprocess.run(
        [sys.executable, name], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def dense_loss(model: torch.nn.Module, X, y) -> float:
    with torch.no_grad():
        return float(
            torch.nn.functional.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(y))
        )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A copy of examples/ after `python make_data.py`."""
    copy = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(
        ROOT / "examples",
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*.h5", "*.npz", "*.pt", "*.json"),
    )
    run_script(copy, "make_data.py")
    return copy


def test_make_data_writes_data_and_weights_that_fit_the_factory(folder, monkeypatch):
    monkeypatch.chdir(folder)
    arrays = np.load("my_data.npz")
    assert {"X", "y", "X_test", "y_test"} <= set(arrays.files)
    assert arrays["X"].dtype == np.float32 and arrays["y"].dtype == np.int64
    model = build_user_model(parse_model("my_net.py:make"))  # imports its sibling blocks.py
    load_weights(model, Path("my_net.pt"))  # strict: every key and shape
    assert dense_loss(model, arrays["X"], arrays["y"]) < 0.5  # trained, not the initial weights


def test_the_readme_command_draws_the_landscape_of_the_given_weights(folder, monkeypatch):
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, readme_command())
    assert result.exit_code == 0, result.output
    landscape = ll.load_result("mine.h5")
    assert isinstance(landscape, ll.Landscape) and landscape.shape == (51, 51)
    model = build_user_model(parse_model("my_net.py:make"))
    load_weights(model, Path("my_net.pt"))
    arrays = np.load("my_data.npz")
    centre = landscape.values["loss"][25, 25]  # the grid's origin: the given weights
    assert centre == pytest.approx(dense_loss(model, arrays["X"], arrays["y"]), rel=1e-5)
    assert np.isfinite(landscape.values["loss"]).all()


def test_the_dataloader_example_writes_what_a_direct_computation_gives(folder):
    printed = run_script(folder, "dataloader_example.py").stdout
    assert "wrote loader.h5 and loader_top.json" in printed
    assert max(len(line) for line in printed.splitlines()) <= 120  # short reprs, no arrays
    landscape = ll.load_result(folder / "loader.h5")
    top = ll.load_result(folder / "loader_top.json")
    assert landscape.shape == (11, 11) and len(top.values) == 3
    model = build_user_model(parse_model(f"{folder / 'my_net.py'}:make"))
    load_weights(model, folder / "my_net.pt")
    arrays = np.load(folder / "my_data.npz")
    X, y = torch.as_tensor(arrays["X"]).double(), torch.as_tensor(arrays["y"])
    assert landscape.values["loss"][5, 5] == pytest.approx(
        dense_loss(model, X.float(), y), rel=1e-5
    )
    # The oracle for the eigenvalues: the dense Hessian of the whole-data loss (371 weights).
    model = model.double()
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(vector):
        pieces = vector.split([s.numel() for s in shapes])
        params = {n: p.reshape(s) for n, p, s in zip(names, pieces, shapes, strict=True)}
        logits = torch.func.functional_call(model, params, (X,))
        return torch.nn.functional.cross_entropy(logits, y)

    exact = torch.linalg.eigvalsh(torch.func.hessian(loss)(flat)).flip(0)[:3]
    assert torch.allclose(top.values, exact, rtol=1e-3, atol=1e-6), (top.values, exact)
