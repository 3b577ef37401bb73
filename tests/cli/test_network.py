"""`losslab train`, `losslab landscape` and `losslab plot` on built-ins and on the user's files.

Tiny on purpose: an 8-unit MLP, iris or digits, one or two epochs, 5x5 grids. Each command
writes a file that loads back with the library, with the numbers it promised.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from clitools import has_magic, invoke

from losslab.cli import network
from losslab.landscapes import Landscape
from losslab.training import TrainingRun

TINY = ["--model", "mlp", "--width", "8", "--dataset", "iris"]
NET_PY = """
import torch
from torch import nn


def make_net():
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
"""


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A landscape and the training run it was drawn around (same seed and options)."""
    folder = tmp_path_factory.mktemp("trained")
    ok(invoke("train", *TINY, "--epochs", "2", "--record-every", "3", "--out", folder / "run.json"))
    ok(invoke("landscape", *TINY, "--epochs", "2", "--resolution", "5", "--out", folder / "l.h5"))
    return folder


@pytest.fixture
def user_files(tmp_path):
    """net.py with a factory, its weights and iris-shaped data, written as a user would."""
    (tmp_path / "net.py").write_text(NET_PY)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    torch.save(net.state_dict(), tmp_path / "net.pt")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    np.savez(tmp_path / "data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1))
    return tmp_path


def test_train_prints_final_scores_and_writes_a_loadable_run(tmp_path):
    out, weights = tmp_path / "run.json", tmp_path / "w.pt"
    result = ok(
        invoke(
            "train",
            *TINY,
            "--epochs",
            "2",
            "--record-every",
            "3",
            "--out",
            out,
            "--save-weights",
            weights,
        )
    )
    assert "train" in result.stdout and "test" in result.stdout
    assert "accuracy" in result.stdout and "loss" in result.stdout
    run = TrainingRun.load(out)
    n_params = 4 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3
    # 2 epochs of 112 iris samples in batches of 64 = 4 steps: recorded at 0, 3 and the end.
    assert run.params.shape == (3, n_params)
    assert run.steps.tolist() == [0, 3, 4]
    state = torch.load(weights, weights_only=True)
    assert torch.equal(torch.cat([v.flatten() for v in state.values()]), run.params[-1])


def test_train_writes_hdf5(tmp_path):
    ok(
        invoke(
            "train",
            *TINY,
            "--epochs",
            "1",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--out",
            tmp_path / "run.h5",
        )
    )
    assert TrainingRun.load(tmp_path / "run.h5").hyperparameters["optimizer"] == "adam"


def test_landscape_writes_a_loadable_file_around_the_trained_weights(trained):
    land = Landscape.load(trained / "l.h5")
    assert land.shape == (5, 5) and set(land.values) == {"loss", "accuracy"}
    assert land.metadata["directions"]["kind"] == "random"
    assert land.metadata["directions"]["normalization"] == "filter"
    run = TrainingRun.load(trained / "run.json")
    np.testing.assert_allclose(land.origin, run.params[-1].double().numpy())
    assert land.values["loss"][2, 2] == pytest.approx(float(run.train_loss[-1]), rel=1e-5)


def test_rerunning_the_same_command_resumes_where_it_stopped(tmp_path, monkeypatch):
    from losslab.landscapes import compute

    args = ["landscape", *TINY, "--epochs", "1", "--resolution", "9", "--out", tmp_path / "l.h5"]
    real = compute.evaluate_chunk
    calls = []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 2:  # 81 points are two chunks of 64: stop in the second one
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(compute, "evaluate_chunk", interrupted)
    assert invoke(*args).exit_code != 0
    assert not (tmp_path / "l.h5").exists()
    calls.clear()
    monkeypatch.setattr(compute, "evaluate_chunk", lambda *a, **k: calls.append(1) or real(*a, **k))
    ok(invoke(*args))
    assert len(calls) == 1  # only the chunk that was in flight
    assert Landscape.load(tmp_path / "l.h5").shape == (9, 9)
    ok(invoke(*args))  # a finished file: nothing is recomputed
    assert len(calls) == 1


def test_pca_landscape_on_a_line_with_an_html_figure(tmp_path):
    out, fig = tmp_path / "pca.h5", tmp_path / "pca.html"
    ok(
        invoke(
            "landscape",
            *TINY,
            "--epochs",
            "2",
            "--directions",
            "pca",
            "--dims",
            "1",
            "--resolution",
            "5",
            "--metrics",
            "loss",
            "--out",
            out,
            "--plot",
            fig,
        )
    )
    land = Landscape.load(out)
    assert land.shape == (5,) and list(land.values) == ["loss"]
    assert land.metadata["directions"]["kind"] == "pca"
    assert has_magic(fig)


def test_untrained_subsampled_landscape_with_a_png(tmp_path):
    result = ok(
        invoke(
            "landscape",
            *TINY,
            "--epochs",
            "0",
            "--resolution",
            "3",
            "--n-samples",
            "40",
            "--directions",
            "layer",
            "--out",
            tmp_path / "u.h5",
            "--plot",
            tmp_path / "u.png",
            "--log",
        )
    )
    assert "initial weights" in result.stdout
    land = Landscape.load(tmp_path / "u.h5")
    assert "loss_se" in land.values and land.metadata["objective"]["n_samples"] == 40
    assert has_magic(tmp_path / "u.png")


def test_linear_regression_on_its_raw_axes_marks_the_normal_equation(tmp_path):
    ok(
        invoke(
            "landscape",
            "--model",
            "linear_regression",
            "--dataset",
            "linear",
            "--directions",
            "axes",
            "--epochs",
            "1",
            "--lr",
            "0.05",
            "--resolution",
            "5",
            "--span",
            "3",
            "--out",
            tmp_path / "lin.h5",
            "--plot",
            tmp_path / "lin.svg",
        )
    )
    land = Landscape.load(tmp_path / "lin.h5")
    np.testing.assert_array_equal(land.directions, np.eye(2))
    setup = network.prepare("linear_regression", "linear", None, None, None, None, 0, None)
    (w,) = network._normal_equation_mark(setup).values()
    X, y = setup.data.train
    np.testing.assert_allclose(w.numpy(), np.linalg.lstsq(X.double(), y.double(), rcond=None)[0])
    assert has_magic(tmp_path / "lin.svg")


def test_user_model_weights_and_data(user_files):
    f = user_files
    result = ok(
        invoke(
            "landscape",
            "--model",
            f"{f / 'net.py'}:make_net",
            "--weights",
            f / "net.pt",
            "--data",
            f / "data.npz",
            "--resolution",
            "3",
            "--out",
            f / "user.h5",
        )
    )
    assert "given weights" in result.stdout  # --weights means no training by default
    land = Landscape.load(f / "user.h5")
    state = torch.load(f / "net.pt", weights_only=True)
    np.testing.assert_allclose(
        land.origin, torch.cat([v.flatten() for v in state.values()]).double().numpy()
    )
    ok(
        invoke(
            "train",
            "--model",
            f"{f / 'net.py'}:make_net",
            "--data",
            f / "data.npz",
            "--epochs",
            "1",
            "--loss",
            "cross_entropy",
        )
    )


def test_plot_draws_a_saved_landscape_with_the_trajectory(trained, tmp_path):
    for name in ("fig.png", "fig.pdf", "fig.html"):
        ok(
            invoke(
                "plot",
                trained / "l.h5",
                "--out",
                tmp_path / name,
                "--trajectory",
                trained / "run.json",
            )
        )
        assert has_magic(tmp_path / name)
    ok(
        invoke(
            "plot",
            trained / "l.h5",
            "--out",
            tmp_path / "acc.svg",
            "--metric",
            "accuracy",
            "--log",
            "--title",
            "iris",
        )
    )
    assert has_magic(tmp_path / "acc.svg")


def test_progress_bar_reports_to_the_library_callback(capsys):
    with network.progress_bar(enabled=True) as track:
        update = track("landscape")
        update(0, 4)
        update(4, 4)
    with network.progress_bar(enabled=False) as track:
        assert track("landscape") is None


@pytest.mark.parametrize("command", ["train", "landscape", "plot"])
def test_network_commands_are_listed_and_have_help(command):
    assert command in invoke().output
    text = ok(invoke(command, "--help")).stdout
    assert "Usage" in text and "--out" in text


def test_the_default_pca_window_holds_the_whole_training_path():
    from types import SimpleNamespace

    from losslab import directions

    generator = torch.Generator().manual_seed(0)
    params = torch.randn(40, 12, generator=generator, dtype=torch.float64).cumsum(0)  # a walk
    chosen = directions.pca(params, n=2)
    windows = network.path_span(SimpleNamespace(params=params), chosen)
    path = (params - chosen.origin) @ chosen.vectors.T  # (40, 2), the final point at 0
    for (lo, hi), along in zip(windows, path.T, strict=True):
        assert lo < along.min() and along.max() < hi and lo < 0 < hi
        assert hi - lo <= 1.25 * (max(along.max(), 0) - min(along.min(), 0))
