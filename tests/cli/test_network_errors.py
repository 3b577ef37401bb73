"""Bad input to `train`, `landscape` and `plot`: exit code 2, one line on stderr, no file.

Every case runs in an empty folder holding only the files the case needs (a user's model, a
broken weights file, ...), with --out/--plot pointing into that folder, and checks that the
folder is unchanged afterwards: nothing trained was saved, no partial landscape was left.
"""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import torch
from clitools import invoke
from test_cli_errors import assert_one_line_error

NET = "net.py:make_net"
FILES = {
    "net.py": "from torch import nn\n\n\ndef make_net():\n"
    "    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))\n\n\n"
    "def not_a_model():\n    return 42\n\n\ndef broken():\n    raise RuntimeError('no GPU')\n",
    "syntax.py": "def make_net(:\n",
    "notes.txt": "not python",
}


class Payload:
    """Pickled into a 'weights' file: weights_only=True must refuse to build it."""

    def __reduce__(self):
        return (print, ("this must never run",))


def make_files(folder):
    for name, text in FILES.items():
        (folder / name).write_text(text)
    torch.manual_seed(0)
    good = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    torch.save(good.state_dict(), folder / "good.pt")
    wide = torch.nn.Sequential(torch.nn.Linear(4, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    torch.save(wide.state_dict(), folder / "wide.pt")
    state = good.state_dict()
    del state["2.bias"]
    torch.save(state, folder / "partial.pt")
    torch.save(Payload(), folder / "code.pt")
    (folder / "code.pkl").write_bytes(pickle.dumps(Payload()))
    nan = {k: v.clone() for k, v in good.state_dict().items()}
    nan["0.weight"][0, 0] = float("nan")
    torch.save(nan, folder / "nan.pt")
    X = np.random.default_rng(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    np.savez(folder / "data.npz", X=X, y=y)
    np.savez(folder / "no_y.npz", X=X)
    np.savez(folder / "short_y.npz", X=X, y=y[:30])
    np.savez(folder / "wide_X.npz", X=np.hstack([X, X]), y=y)
    np.savez(folder / "nan_X.npz", X=np.where(X > 2, np.nan, X), y=y)
    np.savez(folder / "objects.npz", X=np.array([{"a": 1}] * 40, dtype=object), y=y)
    np.savez(folder / "text_y.npz", X=X, y=np.array(["cat"] * 40))
    np.save(folder / "plain.npy", X)
    with open(folder / "run.h5", "wb") as handle:  # an HDF5 file, but not a landscape
        import h5py

        with h5py.File(handle, "w") as f:
            f.attrs["result"] = "something else"


L = ["landscape", "--resolution", "3", "--out", "land.h5", "--plot", "land.png"]
T = ["train", "--epochs", "1", "--out", "run.json"]

BAD = [
    # models
    (L + ["--model", "nosuch"], "unknown model 'nosuch'"),
    (L + ["--model", "mpl"], "Did you mean 'mlp'"),
    (L + ["--model", "missing.py:make_net"], "'missing.py' does not exist"),
    (L + ["--model", "notes.txt:make_net"], "'notes.txt' is not a Python file (.py)"),
    (L + ["--model", "some/where:make_net"], "neither a built-in model nor"),
    (L + ["--model", "net.py"], "names no factory"),
    (L + ["--model", "net.py:nope", "--data", "data.npz"], "has no 'nope'; it defines"),
    (L + ["--model", "net.py:not_a_model", "--data", "data.npz"], "returned a int"),
    (L + ["--model", "net.py:broken", "--data", "data.npz"], "RuntimeError: no GPU"),
    (L + ["--model", "syntax.py:make_net", "--data", "data.npz"], "SyntaxError"),
    (L + ["--model", NET, "--data", "data.npz", "--width", "8"], "--width and --depth"),
    (L + ["--model", "cnn", "--dataset", "iris"], "does not fit dataset 'iris'"),
    (L + ["--model", "mlp", "--directions", "axes"], "1 or 2 parameters"),
    # weights
    (L + ["--model", NET, "--data", "data.npz", "--weights", "missing.pt"], "does not exist"),
    (L + ["--model", NET, "--data", "data.npz", "--weights", "notes.txt"], "not a PyTorch"),
    (L + ["--model", NET, "--data", "data.npz", "--weights", "code.pt"], "not a PyTorch"),
    (L + ["--model", NET, "--data", "data.npz", "--weights", "code.pkl"], "not a PyTorch"),
    (L + ["--model", NET, "--data", "data.npz", "--weights", "wide.pt"], "shape of 0.weight"),
    (L + ["--model", NET, "--data", "data.npz", "--weights", "partial.pt"], "missing 2.bias"),
    (L + ["--model", NET, "--data", "data.npz", "--weights", "nan.pt"], "NaN or inf in"),
    (L + ["--model", "mlp", "--dataset", "iris", "--weights", "good.pt"], "does not fit"),
    # data
    (L + ["--model", NET, "--data", "missing.npz"], "does not exist"),
    (L + ["--model", NET, "--data", "notes.txt"], "not a NumPy .npz archive"),
    (L + ["--model", NET, "--data", "plain.npy"], "holds one array"),
    (L + ["--model", NET, "--data", "objects.npz"], "without unpickling"),
    (L + ["--model", NET, "--data", "no_y.npz"], "it needs X"),
    (L + ["--model", NET, "--data", "short_y.npz"], "X has 40 samples but y has 30"),
    (L + ["--model", NET, "--data", "wide_X.npz"], "does not accept samples of shape (8,)"),
    (L + ["--model", NET, "--data", "nan_X.npz"], "NaN or inf"),
    (L + ["--model", NET, "--data", "text_y.npz"], "must be numbers"),
    (L + ["--model", NET, "--data", "data.npz", "--loss", "mse"], "one output per sample"),
    (L + ["--dataset", "nosuch"], "unknown dataset 'nosuch'"),
    (L + ["--dataset", "iris", "--data", "data.npz"], "not both"),
    # landscape options
    (L + ["--directions", "pca", "--epochs", "0"], "needs a training trajectory"),
    (L + ["--directions", "sideways"], "--directions"),
    (L + ["--dataset", "iris", "--metrics", "loss,nosuch"], "nosuch not available"),
    (L + ["--metrics", ","], "names no metric"),
    (L + ["--resolution", "1"], "--resolution"),
    (L + ["--dims", "3"], "--dims"),
    (L + ["--span", "-1"], "span == -1.0"),
    (L + ["--lr", "0"], "lr == 0.0"),
    (L + ["--bn", "train"], "--bn"),
    (L + ["--n-samples", "0"], "--n-samples"),
    (L + ["--epochs", "-1"], "--epochs"),
    (["landscape", "--out", "land.png"], "--out: cannot write 'land.png'"),
    (["landscape", "--plot", "land.gif"], "--plot: cannot write 'land.gif'"),
    (["landscape", "--out", "missing/land.h5"], "does not exist"),
    (["landscape", "--out", "same.h5", "--plot", "same.h5"], "--plot"),
    # train
    (T + ["--optimizer", "lbfgs"], "--optimizer"),
    (T + ["--momentum", "0.5", "--optimizer", "adam", "--dataset", "iris"], "momentum"),
    (T + ["--epochs", "0"], "--epochs"),
    (["train", "--out", "run.txt"], "--out: cannot write 'run.txt'"),
    (["train", "--out", "run.json", "--save-weights", "w.npz"], "--save-weights"),
    (["train", "--out", "w.pt", "--save-weights", "w.pt"], "--out"),
    (T + ["--model", "linear_regression", "--dataset", "iris"], "does not fit dataset"),
    # plot
    (["plot", "missing.h5", "--out", "fig.png"], "'missing.h5': it does not exist"),
    (["plot", "notes.txt", "--out", "fig.png"], "'notes.txt': it is neither JSON nor HDF5"),
    (["plot", "run.h5", "--out", "fig.png"], "'run.h5' is an HDF5 file but not a losslab result"),
    (["plot", "notes.txt", "--out", "fig.gif"], "--out: cannot write 'fig.gif'"),
    (["plot", "notes.txt"], "--out"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    make_files(folder)
    return folder


def case_id(value):
    """The distinctive part of a case: the arguments after the shared landscape prefix."""
    if not isinstance(value, list):
        return None
    return " ".join(value[len(L) :] if value[: len(L)] == L else value)


@pytest.mark.parametrize(("args", "phrase"), BAD, ids=case_id)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    args, phrase, files, tmp_path, monkeypatch
):
    for item in files.iterdir():
        shutil.copy(item, tmp_path / item.name)
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert_one_line_error(result, phrase)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "this must never run" not in result.output


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small saved landscape and a run of another model, for the plot errors."""
    folder = tmp_path_factory.mktemp("saved")
    tiny = ["--model", "mlp", "--width", "4", "--dataset", "iris", "--epochs", "1"]
    result = invoke("landscape", *tiny, "--resolution", "3", "--out", folder / "land.h5")
    assert result.exit_code == 0, result.output
    other = ["--model", "mlp", "--width", "5", "--dataset", "iris", "--epochs", "1"]
    result = invoke("train", *other, "--out", folder / "other.json")
    assert result.exit_code == 0, result.output
    (folder / "notes.txt").write_text("not a run")
    return folder


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        (["--metric", "nosuch"], "metric == 'nosuch' is not in this landscape; it has loss"),
        (["--trajectory", "other.json"], "trajectory has 73 parameters per point"),
        (["--trajectory", "missing.json"], "'missing.json' does not exist"),
        (["--trajectory", "notes.txt"], "--trajectory: cannot read training_run file 'notes.txt'"),
    ],
)
def test_plot_rejects_what_does_not_fit_the_landscape(extra, phrase, saved, monkeypatch):
    monkeypatch.chdir(saved)
    before = sorted(p.name for p in saved.iterdir())
    result = invoke("plot", "land.h5", "--out", "fig.png", *extra)
    assert_one_line_error(result, phrase)
    assert sorted(p.name for p in saved.iterdir()) == before


@pytest.mark.parametrize("command", [["landscape", "--resolution", "3"], ["hessian", "--top", "1"]])
def test_diverged_training_is_one_line_in_every_command_that_trains_first(command):
    result = invoke(*command, "--model", "mlp", "--dataset", "iris", "--epochs", "2", "--lr", "1e5")
    assert_one_line_error(result, "training diverged after ")
    assert "lower --lr, or use --epochs 0" in result.output
