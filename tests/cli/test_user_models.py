"""What a researcher's own model and data need from the CLI: integer inputs reach the model
as int64 (an nn.Embedding loads and runs); the model file's folder is importable while it
loads (a sibling module), and nothing of it stays on sys.path or in sys.modules after; a
model without values (meta device, Lazy modules) is refused in one line."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch
from clitools import invoke
from test_cli_errors import assert_one_line_error

from losslab.cli.model_loading import build_user_model, load_npz, parse_model
from losslab.errors import LosslabError

TOKENS = """
    import torch
    from torch import nn


    class Bag(nn.Module):  # a bag of token embeddings: needs int64 ids, refuses floats
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 2)

        def forward(self, ids):
            assert ids.dtype == torch.int64, ids.dtype
            return self.out(self.embed(ids).mean(1))


    def make():
        return Bag()


    def dense():
        return nn.Linear(5, 2)


    def on_meta():
        with torch.device("meta"):
            return nn.Linear(5, 2)


    def lazy():
        return nn.Sequential(nn.LazyLinear(2))
    """


@pytest.fixture
def tokens(tmp_path, monkeypatch):
    (tmp_path / "bag.py").write_text(textwrap.dedent(TOKENS))
    ids = np.random.default_rng(0).integers(0, 10, size=(40, 5)).astype(np.int32)
    np.savez(tmp_path / "ids.npz", X=ids, y=(ids.sum(1) > 22).astype(np.int64))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_integer_inputs_stay_integer(tokens):
    data = load_npz(tokens / "ids.npz", None)
    assert data.X_train.dtype == torch.int64 and data.X_test.dtype == torch.int64
    stored = np.load(tokens / "ids.npz")["X"]
    assert np.array_equal(data.X_train.numpy(), stored)
    np.savez(tokens / "floats.npz", X=stored.astype(np.float64), y=np.zeros(40, np.int64))
    np.savez(tokens / "flags.npz", X=stored > 4, y=np.zeros(40, np.int64))
    assert load_npz(tokens / "floats.npz", None).X_train.dtype == torch.float32
    assert load_npz(tokens / "flags.npz", None).X_train.dtype == torch.float32


@pytest.mark.parametrize("command", ["train", "landscape", "hessian"])
def test_an_embedding_model_runs_on_integer_data(tokens, command):
    extra = {"train": ["--epochs", "1"], "landscape": ["--resolution", "3", "--epochs", "1"]}
    extra["hessian"] = ["--epochs", "1", "--top", "2"]
    result = invoke(command, "--model", "bag.py:make", "--data", "ids.npz", *extra[command])
    assert result.exit_code == 0, result.output


def test_a_float_model_on_integer_data_is_told_why(tokens):
    result = invoke("train", "--model", "bag.py:dense", "--data", "ids.npz", "--epochs", "1")
    assert_one_line_error(result, "X holds integers, kept as int64 for embeddings")


@pytest.mark.parametrize(
    ("factory", "phrase"),
    [
        ("on_meta", "bag.py:on_meta returned a model losslab cannot use: the model's 'weight' "),
        ("lazy", "bag.py:lazy returned a model losslab cannot use: the model's '0.weight' is not "),
    ],
)
def test_models_without_values_are_refused_in_one_line(tokens, factory, phrase):
    result = invoke("landscape", "--model", f"bag.py:{factory}", "--data", "ids.npz")
    assert_one_line_error(result, phrase)


NET = """
    from torch import nn

    import layers


    def make():
        return nn.Sequential(layers.Block(4, layers.WIDTH), nn.Linear(layers.WIDTH, 2))
    """

LAYERS = """
    from torch import nn

    WIDTH = {width}


    class Block(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.linear = nn.Linear(n_in, n_out)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if {fails} and self.calls > 2:
                raise ValueError("the sibling failed")
            return self.linear(x).tanh()
    """


def model_folder(folder, width: int, fails: bool = False):
    folder.mkdir()
    (folder / "net.py").write_text(textwrap.dedent(NET))
    (folder / "layers.py").write_text(textwrap.dedent(LAYERS).format(width=width, fails=fails))
    return folder


def test_a_sibling_module_imports_and_leaves_nothing_behind(tmp_path):
    """Two folders, each with its own layers.py: each model gets its own sibling, in one
    process, and afterwards sys.path and sys.modules are as before."""
    first, second = model_folder(tmp_path / "a", 3), model_folder(tmp_path / "b", 5)
    path, modules = list(sys.path), set(sys.modules)
    widths = []
    for folder in (first, second, first):
        model = build_user_model(parse_model(f"{folder / 'net.py'}:make"))
        widths.append(model[0].linear.out_features)
        assert sys.path == path
        assert "layers" not in sys.modules
    assert widths == [3, 5, 3]
    assert {name for name in set(sys.modules) - modules if "layers" in name} == set()
    failing = model_folder(tmp_path / "c", 4)
    (failing / "net.py").write_text("import layers\n\ndef make():\n    raise ValueError('no')\n")
    with pytest.raises(LosslabError, match="net.py:make failed while building the model"):
        build_user_model(parse_model(f"{failing / 'net.py'}:make"))
    assert sys.path == path and "layers" not in sys.modules  # cleaned after a failure too


def test_a_sibling_that_fails_later_is_the_user_code(tmp_path, monkeypatch):
    model_folder(tmp_path / "net", 3, fails=True)
    monkeypatch.chdir(tmp_path / "net")
    X = np.random.default_rng(0).normal(size=(20, 4))
    np.savez("data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    result = invoke("train", "--model", "net.py:make", "--data", "data.npz", "--epochs", "1")
    assert_one_line_error(result, "layers.py:forward (line 16) failed while losslab used the model")
    assert "ValueError: the sibling failed" in result.stderr


def test_a_missing_sibling_names_the_import(tmp_path):
    folder = model_folder(tmp_path / "net", 3)
    (folder / "layers.py").unlink()
    result = invoke("train", "--model", f"{folder / 'net.py'}:make", "--epochs", "1")
    assert_one_line_error(result, "No module named 'layers'")
