"""`losslab permute`, `match`, `connect` and `widths` on tiny settings: what they print is what
they save, their files load back with the right contents, and bad input is one line, exit
code 2 and no file.

Tiny: an MLP 4-8-3 (--width 8 --depth 1) on iris (150 samples), a few epochs.
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import torch
from clitools import has_magic, invoke
from test_cli_errors import assert_one_line_error

import losslab as ll
from losslab import models, symmetry
from losslab.cli.render import number
from losslab.data import load_dataset

TINY = ("--dataset", "iris", "--width", "8", "--depth", "1")


def iris_model(seed: int):
    return models.build("mlp", load_dataset("iris", seed=0), width=8, depth=1, seed=seed)


# -- permute ------------------------------------------------------------------------------------


def test_permute_saves_the_permutation_and_the_permuted_weights(tmp_path):
    out, weights = tmp_path / "perm.json", tmp_path / "permuted.pt"
    result = invoke("permute", *TINY, "--seed", "3", "--out", out, "--save-weights", weights)
    assert result.exit_code == 0, result.output
    # The oracle: the library's own permutation of the same built model.
    model = models.build("mlp", load_dataset("iris", seed=3), width=8, depth=1, seed=3)
    expected = symmetry.random_permutation(model, seed=3)
    saved = ll.load_result(out)
    assert saved.groups == expected.groups == ("0",)
    for got, want in zip(saved.perms, expected.perms, strict=True):
        assert torch.equal(got, want)
    state = torch.load(weights, weights_only=True)
    twin = models.build("mlp", load_dataset("iris", seed=3), width=8, depth=1, seed=99)
    twin.load_state_dict(state)
    X = load_dataset("iris", seed=3).X_train
    with torch.no_grad():
        torch.testing.assert_close(twin(X), model(X), rtol=0, atol=1e-5)  # the same function
    distance = symmetry.parameter_distance(model, twin)
    assert distance > 0.1
    assert "float rounding" in result.output
    assert number(distance, 5) in result.output
    assert "0.weight[0], 0.bias[0], 2.weight[1]" in result.output  # the group's tensors


def test_match_recovers_the_permutation_that_permute_applied(tmp_path):
    invoke(
        "permute",
        *TINY,
        "--seed",
        "3",
        "--out",
        tmp_path / "p.json",
        "--save-weights",
        tmp_path / "p.pt",
    )
    # Model A: the seed-3 model as built (no training); model B: its permuted copy.
    result = invoke(
        "match",
        *TINY,
        "--seed",
        "3",
        "--epochs",
        "0",
        "--weights-b",
        tmp_path / "p.pt",
        "--out",
        tmp_path / "m.h5",
        "--save-weights",
        tmp_path / "aligned.pt",
    )
    assert result.exit_code == 0, result.output
    applied = ll.load_result(tmp_path / "p.json")
    found = ll.load_result(tmp_path / "m.h5")
    for got, want in zip(found.perms, applied.inverse().perms, strict=True):
        assert torch.equal(got, want)
    assert "-> 0 (100.0% closer)" in result.output
    model = models.build("mlp", load_dataset("iris", seed=3), width=8, depth=1, seed=3)
    aligned = torch.load(tmp_path / "aligned.pt", weights_only=True)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(aligned[name], value)


# -- connect ------------------------------------------------------------------------------------

CONNECT = (
    *TINY,
    "--epochs",
    "3",
    "--bezier-epochs",
    "2",
    "--n-points",
    "5",
    "--plane-resolution",
    "3",
)


def test_connect_prints_the_barriers_it_saves_and_draws_every_figure(tmp_path):
    result = invoke(
        "connect", *CONNECT, "--out", tmp_path / "run.json", "--plot", tmp_path / "run.png"
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            "run-linear.json",
            "run-linear-aligned.json",
            "run-bezier.json",
            "run-permutation.json",
            "run-plane.h5",
            "run-line.png",
            "run-bezier.png",
            "run-plane.png",
        ]
    )
    line = ll.load_result(tmp_path / "run-linear.json")
    aligned = ll.load_result(tmp_path / "run-linear-aligned.json")
    curve = ll.load_result(tmp_path / "run-bezier.json")
    assert (line.kind, aligned.kind, curve.kind) == ("linear", "linear", "bezier")
    assert line.n_points == 5 and curve.anchors.shape[0] == 3
    for path in (line, aligned, curve):
        assert number(path.barrier["loss"]) in result.output
        assert number(path.barrier["accuracy"]) in result.output
    # Both lines start at model A; the aligned one ends at B permuted by the saved matching,
    # and the curve ends there too.
    torch.testing.assert_close(line.model_a, aligned.model_a)
    torch.testing.assert_close(curve.model_b, aligned.model_b)
    assert torch.linalg.vector_norm(aligned.model_b - line.model_b) > 0
    assert isinstance(ll.load_result(tmp_path / "run-permutation.json"), symmetry.Permutation)
    # The plane holds A at (0, 0), B on the first axis and the control point above it.
    plane = ll.load_result(tmp_path / "run-plane.h5")
    a, b, c = plane.project(curve.anchors.double().numpy())
    np.testing.assert_allclose(a, [0, 0], atol=1e-6)
    length = float(torch.linalg.vector_norm(curve.model_b - curve.model_a))
    np.testing.assert_allclose(b, [length, 0], atol=1e-6 * length)
    assert c[1] > 0
    for name in ("run-line.png", "run-bezier.png", "run-plane.png"):
        assert has_magic(tmp_path / name)
    # `losslab plot` redraws the saved files without computing anything.
    paths = [tmp_path / f"run-{name}.json" for name in ("linear", "linear-aligned", "bezier")]
    redrawn = invoke("plot", *paths, "--out", tmp_path / "again.svg")
    assert redrawn.exit_code == 0, redrawn.output
    svg = (tmp_path / "again.svg").read_text()
    for label in ("straight line (run-linear)", "straight line (run-linear-aligned)"):
        assert label in svg
    assert "Bezier curve (run-bezier)" in svg
    plane_args = (tmp_path / "run-plane.h5", tmp_path / "run-bezier.json")
    assert invoke("plot", *plane_args, "--out", tmp_path / "plane.png").exit_code == 0
    assert has_magic(tmp_path / "plane.png")
    wrong = invoke("plot", tmp_path / "run-plane.h5", paths[0], "--out", tmp_path / "x.png")
    assert_one_line_error(wrong, "a plane is drawn with the Bezier path it was computed for")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".html"])
def test_connect_draws_each_format(tmp_path, suffix):
    result = invoke(
        "connect", *CONNECT, "--path", "linear", "--no-align", "--plot", tmp_path / f"run{suffix}"
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == [f"run-line{suffix}"]
    assert has_magic(tmp_path / f"run-line{suffix}")
    assert "straight line, aligned" not in result.output  # --no-align: only the line


def test_connect_takes_the_users_model_and_batchnorm_mode(tmp_path, monkeypatch):
    (tmp_path / "net.py").write_text(
        "from torch import nn\n\n\ndef make():\n"
        "    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))\n"
    )
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "connect", "--model", "net.py:make", "--dataset", "iris", "--epochs", "1",
        "--path", "linear", "--bn", "eval", "--n-points", "3", "--out", "run.h5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    before, after = ll.load_result("run-linear.h5"), ll.load_result("run-linear-aligned.h5")
    assert before.bn == after.bn == "eval" and before.names[2] == "1.weight"
    # Aligned B is B's function (its BatchNorm statistics permuted too): the same end loss.
    torch.testing.assert_close(after.values["loss"][-1], before.values["loss"][-1])
    assert not torch.equal(after.model_b, before.model_b)


# -- widths -------------------------------------------------------------------------------------


def test_widths_prints_the_means_it_saves_and_draws_them(tmp_path):
    result = invoke(
        "widths",
        "--dataset",
        "iris",
        "--depth",
        "1",
        "--widths",
        "4,2",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--resolution",
        "3",
        "--n-points",
        "3",
        "--out",
        tmp_path / "sweep.h5",
        "--plot",
        tmp_path / "sweep.svg",
    )
    assert result.exit_code == 0, result.output
    sweep = ll.load_result(tmp_path / "sweep.h5")
    assert sweep.widths.tolist() == [2, 4] and sweep.seeds.tolist() == [0, 1]
    for figure in ("loss", "barrier_before", "barrier_after", "top_eigenvalue"):
        for mean, sd in zip(sweep.mean(figure), sweep.sd(figure), strict=True):
            assert f"{number(mean, 4)} \u00b1 {number(sd, 2)}" in result.output
    assert has_magic(tmp_path / "sweep.svg")
    title = "mlp on iris against width: mean \u00b1 1 sd over 2 seeds (1 epochs each)"
    redrawn = invoke(
        "plot", tmp_path / "sweep.h5", "--out", tmp_path / "again.svg", "--title", title
    )
    assert redrawn.exit_code == 0, redrawn.output
    # The same picture as the command drew, but for its date and random ids.
    drawn = [
        re.sub(r"<dc:date>.*?</dc:date>|\b[mp][0-9a-f]{10}\b", "", (tmp_path / name).read_text())
        for name in ("again.svg", "sweep.svg")
    ]
    assert drawn[0] == drawn[1]


def test_widths_takes_the_users_width_factory(tmp_path, monkeypatch):
    (tmp_path / "family.py").write_text(
        "from torch import nn\n\n\ndef make(width):\n"
        "    return nn.Sequential(nn.Linear(4, width), nn.Tanh(), nn.Linear(width, 3))\n"
    )
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "widths", "--model", "family.py:make", "--dataset", "iris", "--widths", "3,5",
        "--seeds", "2", "--epochs", "1", "--resolution", "3", "--n-points", "3",
        "--out", "sweep.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sweep = ll.load_result("sweep.json")
    assert sweep.settings["n_params"] == {"3": 4 * 3 + 3 + 3 * 3 + 3, "5": 4 * 5 + 5 + 5 * 3 + 3}
    assert "family.py:make on iris" in result.output


# -- bad input ----------------------------------------------------------------------------------


class Payload:
    """Pickled into a 'weights' file: weights_only=True must refuse to build it."""

    def __reduce__(self):
        return (print, ("this must never run",))


def bad_files(folder):
    torch.save(iris_model(0).state_dict(), folder / "good.pt")
    wide = models.build("mlp", load_dataset("iris", seed=0), width=16, depth=1, seed=0)
    torch.save(wide.state_dict(), folder / "wide.pt")
    torch.save(Payload(), folder / "code.pt")
    (folder / "code.pkl").write_bytes(pickle.dumps(Payload()))
    (folder / "fake.pt").write_text('{"result_type": "permutation"}')  # a crafted text file
    (folder / "lstm.py").write_text(
        "from torch import nn\n\n\nclass Head(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.a = nn.Linear(4, 6)\n        self.b = nn.Linear(6, 3)\n\n"
        "    def forward(self, x):\n        return self.b(self.a(x).softmax(1))\n\n\n"
        "def make():\n    return Head()\n"
    )


BAD = [
    (("permute", "--model", "nope"), "nope"),
    (("match", *TINY, "--weights-b", "wide.pt"), "does not fit the model"),
    (("connect", *TINY, "--weights-a", "good.pt", "--weights-b", "wide.pt"), "does not fit"),
    (("match", *TINY, "--weights-a", "code.pt"), "not a PyTorch state dict"),
    (("connect", *TINY, "--weights-b", "code.pkl"), "not a PyTorch state dict"),
    (("permute", *TINY, "--weights", "fake.pt"), "not a PyTorch state dict"),
    (("connect", *TINY, "--path", "zigzag"), "zigzag"),
    (("connect", *TINY, "--epochs", "0", "--seed-b", "0"), "--seed-b 0 equals --seed"),
    (("permute", "--model", "lstm.py:make", "--dataset", "iris"), "cannot permute"),
    (("match", "--model", "lstm.py:make", "--dataset", "iris"), "cannot permute"),
    (("widths", "--widths", "8,x"), "'x' is not a whole number"),
    (("widths", "--seeds", "1"), "2 networks per width"),
    (("widths", "--model", "logistic_regression"), "has none"),
    (("widths", "--model", "lstm.py:make", "--dataset", "iris"), "takes the width"),
    (("permute", *TINY, "--out", "perm.png"), "use one of .json, .h5"),
]


@pytest.mark.parametrize(("args", "phrase"), BAD, ids=[" ".join(a[:3]) for a, _ in BAD])
def test_bad_input_is_one_line_and_no_file(tmp_path, monkeypatch, args, phrase):
    bad_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    outputs = () if "--out" in args else ("--out", "out.json")
    result = invoke(*args, *outputs)
    assert_one_line_error(result, phrase)
    assert "this must never run" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# -- help, Ctrl-C -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["permute", "match", "connect", "widths"])
def test_each_command_has_help_and_is_listed(command):
    assert command in invoke().output
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout


def interrupted(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("where", "name", "args"),
    [
        ("losslab.connectivity", "bezier", ["connect", *CONNECT]),
        ("losslab.connectivity.sweep", "width_sweep", ["widths", "--widths", "2,4"]),
        # while the figures are written, after the Path files: those are removed again
        ("losslab.plot.connectivity", "plane_scene", ["connect", *CONNECT]),
    ],
    ids=["connect-bezier", "widths", "connect-figures"],
)
def test_ctrl_c_says_interrupted_in_one_line_and_leaves_no_file(
    tmp_path, monkeypatch, where, name, args
):
    import importlib

    monkeypatch.setattr(importlib.import_module(where), name, interrupted)
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, "--out", tmp_path / "out.json", "--plot", tmp_path / "out.png")
    assert result.exit_code == 130, result.output
    assert result.output.splitlines()[-1] == "interrupted"  # after the tables, if printed
    assert "wrote" not in result.output
    assert list(tmp_path.iterdir()) == []
