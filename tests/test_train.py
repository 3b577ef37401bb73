"""Training with a recorded trajectory: torch.optim loops as the oracle, the normal equation as
the end point of least squares, and lossless round trips through JSON and HDF5."""

import copy
import json

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

import losslab.training as training
from losslab.data import load_dataset
from losslab.errors import ArgumentTypeError, LosslabError
from losslab.models import build, linear_regression, mlp, normal_equation
from losslab.params import ParamLayout, model_vector
from losslab.results import codec, load_result
from losslab.training import TrainingRun, train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")


def hand_loop(model, X, y, *, make_optimizer, loss_fn, epochs, batch_size, seed):
    """The reference: a plain torch.optim loop with the documented batch order.

    Returns the flat parameters after every step: (n_steps + 1, n_params).
    """
    optimizer = make_optimizer(model.parameters())
    generator = torch.Generator().manual_seed(seed)
    path = [model_vector(model)]
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            loss_fn(model(X[index]), y[index]).backward()
            optimizer.step()
            path.append(model_vector(model))
    return torch.stack(path)


def test_sgd_reproduces_a_hand_written_torch_loop_exactly(iris):
    model = build("mlp", iris, width=8, seed=1)
    reference = copy.deepcopy(model)
    run = train(model, iris, optimizer="sgd", lr=0.05, momentum=0.9, epochs=3, batch_size=32)
    path = hand_loop(
        reference,
        *iris.train,
        make_optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        loss_fn=F.cross_entropy,
        epochs=3,
        batch_size=32,
        seed=0,
    )
    n_steps = 3 * 4  # 112 samples in batches of 32: 4 steps an epoch
    assert run.n_steps == n_steps and len(path) == n_steps + 1
    assert torch.equal(run.params, path)  # every step recorded, bit for bit
    assert torch.equal(run.steps, torch.arange(n_steps + 1))
    assert torch.equal(model_vector(model), path[-1])  # trained in place
    assert run.status == "completed" and not run.diverged


def test_records_every_k_steps_keep_the_first_and_the_last(iris):
    model = build("mlp", iris, width=8, seed=2)
    reference = copy.deepcopy(model)
    run = train(model, iris, lr=0.1, epochs=5, batch_size=16, record_every=3, seed=9)
    path = hand_loop(
        reference,
        *iris.train,
        make_optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
        loss_fn=F.cross_entropy,
        epochs=5,
        batch_size=16,
        seed=9,
    )
    assert run.steps.tolist() == [*range(0, 35, 3), 35]  # 7 steps an epoch, 35 in all
    assert torch.equal(run.params, path[run.steps])
    torch.testing.assert_close(run.epochs, run.steps.double() / 7)
    assert run.hyperparameters["steps_per_epoch"] == 7


def test_recorded_loss_is_the_full_training_loss_at_the_recorded_params(iris):
    model = build("mlp", iris, width=8)
    run = train(model, iris, lr=0.5, epochs=10, record_every=7)
    layout = run.layout
    assert layout == ParamLayout.of(model)
    X, y = iris.train
    for index in range(run.n_records):
        output = functional_call(model, layout.unflatten(run.params[index]), (X,))
        assert run.train_loss[index].item() == pytest.approx(F.cross_entropy(output, y).item())
    assert run.train_loss[-1] < 0.5 * run.train_loss[0]  # it learned


def test_named_adam_equals_a_torch_adam_callable(iris):
    a, b = build("mlp", iris, width=8), build("mlp", iris, width=8)
    named = train(a, iris, optimizer="adam", lr=0.01, epochs=2)
    given = train(b, iris, optimizer=lambda p: torch.optim.Adam(p, lr=0.01), epochs=2)
    assert torch.equal(named.params, given.params)
    assert named.hyperparameters["optimizer"] == "adam"
    assert given.hyperparameters["optimizer"] == "Adam"
    assert given.hyperparameters["lr"] == 0.01
    assert given.hyperparameters["optimizer_defaults"]["betas"] == (0.9, 0.999)


@pytest.mark.parametrize("name", ["adamw", "rmsprop", "adagrad"])
def test_every_named_optimizer_matches_torch(iris, name):
    kinds = {"adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
    kinds["adagrad"] = torch.optim.Adagrad
    a, b = build("mlp", iris, width=4), build("mlp", iris, width=4)
    named = train(a, iris, optimizer=name, lr=0.01, epochs=1)
    given = train(b, iris, optimizer=lambda p: kinds[name](p, lr=0.01), epochs=1)
    assert torch.equal(named.params, given.params)


def test_least_squares_training_ends_at_the_normal_equation():
    data = load_dataset("linear")
    model = linear_regression(2)
    X, y = data.train
    run = train(model, (X, y), lr=0.3, epochs=60, batch_size=len(X), record_every=10)
    assert run.hyperparameters["loss"] == "mse"
    w = normal_equation(X, y)
    torch.testing.assert_close(run.final.double(), w, rtol=0, atol=1e-4)
    best = F.mse_loss(X.double() @ w, y.double()).item()
    assert run.train_loss[-1].item() == pytest.approx(best, rel=1e-5)
    # full-batch GD on a bowl never goes up: exactly, in float64 at the recorded weights (a
    # linear model without bias: the loss is mean((X @ w - y)^2)), and in the record up to
    # the float32 rounding of the model's outputs
    exact = ((X.double() @ run.params.double().T - y.double()[:, None]) ** 2).mean(dim=0)
    assert (exact.diff() <= 1e-12).all()
    torch.testing.assert_close(run.train_loss, exact, rtol=1e-7, atol=0)
    assert (run.train_loss.diff() <= 4 * 2**-24 * run.train_loss[-1]).all()


def test_the_loss_is_picked_from_labels_and_outputs():
    moons = load_dataset("moons", n_samples=100)
    logistic = train(build("logistic_regression", moons), moons, epochs=1)
    assert logistic.hyperparameters["loss"] == "bce"
    two_logits = train(build("mlp", moons, width=4), moons, epochs=1)
    assert two_logits.hyperparameters["loss"] == "cross_entropy"
    X, y = moons.train
    one_output = nn.Sequential(nn.Linear(2, 1))  # (N, 1) logits against (N,) labels
    run = train(one_output, (X, y), epochs=1, record_every=100)
    expected = F.binary_cross_entropy_with_logits(one_output(X)[:, 0], y.float())
    assert run.hyperparameters["loss"] == "bce"
    assert run.train_loss[-1].item() == pytest.approx(expected.item())


def test_a_loss_module(iris):
    run = train(build("mlp", iris, width=4), iris, loss=nn.CrossEntropyLoss(), epochs=1)
    again = train(build("mlp", iris, width=4), iris, loss="cross_entropy", epochs=1)
    assert run.hyperparameters["loss"] == "CrossEntropyLoss"
    assert torch.equal(run.params, again.params)


def test_a_data_loader_trains_reproducibly_without_touching_global_state(iris):
    loader = DataLoader(TensorDataset(*iris.train), batch_size=40, shuffle=True)
    state = torch.get_rng_state()
    a = train(build("mlp", iris, width=4), loader, epochs=3, seed=5)
    b = train(build("mlp", iris, width=4), loader, epochs=3, seed=5)
    c = train(build("mlp", iris, width=4), loader, epochs=3, seed=6)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.params, b.params) and not torch.equal(a.params, c.params)
    assert a.n_steps == 9 and a.hyperparameters["batch_size"] == 40
    # oracle: the loader's own loop with the CPU random state seeded; recording draws nothing
    model = build("mlp", iris, width=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        for _ in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
    assert torch.equal(model_vector(model), a.final)
    # the recorded loss covers the whole training set, whatever the loader's order
    model = build("mlp", iris, width=4)
    output = functional_call(model, a.layout.unflatten(a.params[-1]), (iris.X_train,))
    assert a.train_loss[-1].item() == pytest.approx(F.cross_entropy(output, iris.y_train).item())


def test_batch_norm_statistics_follow_training_only(iris):
    """Recording runs in eval mode: running statistics match a loop that never records."""
    model = build("mlp_bn", iris, width=8)
    reference = copy.deepcopy(model)
    run = train(model, iris, epochs=2, batch_size=16)
    hand_loop(
        reference,
        *iris.train,
        make_optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
        loss_fn=F.cross_entropy,
        epochs=2,
        batch_size=16,
        seed=0,
    )
    for ours, theirs in zip(model.buffers(), reference.buffers(), strict=True):
        assert torch.equal(ours, theirs)
    assert torch.equal(run.final, model_vector(reference))
    assert model.training  # the mode it had before


def test_modes_are_restored():
    model = mlp(4, 3, hidden=(4,), batch_norm=True).eval()
    data = load_dataset("iris")
    train(model, data, epochs=1)
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize(
    ("model", "kwargs", "message"),
    [
        ("not a model", {}, "model is a str, must be a torch nn.Module"),
        (None, {"progress": 3}, r"progress == 3, must be a callable"),
    ],
)
def test_train_refuses_wrong_types_with_a_type_error(iris, model, kwargs, message):
    model = build("mlp", iris, width=4) if model is None else model
    with pytest.raises(ArgumentTypeError, match=message):
        train(model, iris, epochs=1, **kwargs)


def test_progress_reports_every_step(iris):
    calls = []
    train(build("mlp", iris, width=4), iris, epochs=2, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, 4) for k in range(1, 5)]  # 112 samples: 2 batches of 64 an epoch


def test_a_diverging_run_stops_and_records_nothing_non_finite():
    data = load_dataset("linear")
    run = train(linear_regression(2), data, lr=50.0, epochs=50, batch_size=len(data.X_train))
    assert run.status == "diverged" and run.diverged
    assert run.n_steps < 50 and torch.isfinite(run.params).all()
    assert run.steps[-1] <= run.n_steps


def test_json_round_trip(iris, tmp_path):
    run = train(build("mlp", iris, width=4), iris, epochs=2, record_every=3)
    path = run.save(tmp_path / "run.json")
    for loaded in (TrainingRun.load(path), load_result(path)):
        assert isinstance(loaded, TrainingRun)
        for field in ("params", "steps", "epochs", "train_loss"):
            assert torch.equal(getattr(loaded, field), getattr(run, field))
            assert getattr(loaded, field).dtype == getattr(run, field).dtype
        assert loaded.layout == run.layout and loaded.data == run.data
        assert loaded.hyperparameters == run.hyperparameters
    assert json.loads(path.read_text())["data"]["name"] == "iris"


def test_hdf5_streaming_round_trip(iris, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "H5_CHUNK_BYTES", 1)  # one write per record
    model, twin = build("mlp", iris, width=4), build("mlp", iris, width=4)
    path = tmp_path / "run.h5"
    streamed = train(model, iris, epochs=3, record_every=2, out=path)
    in_memory = train(twin, iris, epochs=3, record_every=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]  # no temporary left
    for loaded in (streamed, TrainingRun.load(path)):
        for field in ("params", "steps", "epochs", "train_loss"):
            assert torch.equal(getattr(loaded, field), getattr(in_memory, field))
        assert loaded.hyperparameters == in_memory.hyperparameters
        assert loaded.layout == in_memory.layout and loaded.status == "completed"
    with h5py.File(path, "r") as file:
        assert file.attrs["losslab_result"] == "training_run"
        assert file["params"].shape == (in_memory.n_records, ParamLayout.of(model).n_params)


def test_large_runs_load_as_a_memory_map(iris, tmp_path, monkeypatch):
    run = train(build("mlp", iris, width=4), iris, epochs=1)
    path = run.save(tmp_path / "run.hdf5")
    maps = []

    def spy(*args, **kwargs):
        maps.append(memmap(*args, **kwargs))
        return maps[-1]

    memmap = np.memmap
    monkeypatch.setattr(np, "memmap", spy)
    assert torch.equal(TrainingRun.load(path).params, run.params) and not maps  # small: read
    monkeypatch.setattr(training, "MMAP_BYTES", 0)
    loaded = TrainingRun.load(path)
    assert torch.equal(loaded.params, run.params) and len(maps) == 1
    assert loaded.params.data_ptr() == maps[0].ctypes.data  # the tensor is the map
    loaded.params[0, 0] = 1e6  # copy-on-write: the file keeps its numbers
    assert torch.equal(TrainingRun.load(path).params, run.params)


def test_a_diverged_run_round_trips_through_hdf5(tmp_path):
    data = load_dataset("linear")
    path = tmp_path / "run.h5"
    run = train(linear_regression(2), data, lr=50.0, epochs=50, batch_size=400, out=path)
    loaded = TrainingRun.load(path)
    assert loaded.diverged and loaded.n_records == run.n_records < 52
    assert torch.equal(loaded.params, run.params)


def test_an_interrupted_run_leaves_no_file(iris, tmp_path):
    def interrupt(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(build("mlp", iris, width=4), iris, out=tmp_path / "run.h5", progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_too_many_records_for_memory_or_json(iris, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "MAX_IN_MEMORY_BYTES", 100)
    with pytest.raises(LosslabError, match="give out='run.h5'"):
        train(build("mlp", iris, width=4), iris, epochs=1)
    monkeypatch.setattr(codec, "JSON_MAX_VALUES", 10)
    run = train(build("mlp", iris, width=4), iris, epochs=1, out=tmp_path / "run.h5")
    with pytest.raises(LosslabError, match="too big for JSON.*run.h5"):
        run.save(tmp_path / "run.json")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "adma"}, "unknown optimizer 'adma'.*Did you mean 'adam'"),
        ({"optimizer": 3}, "optimizer == 3"),
        ({"optimizer": lambda p: None}, "callable returned a NoneType"),
        ({"lr": -0.1}, r"lr == -0.1, must be a finite number in \(0, 1e\+06\]"),
        ({"lr": 1e308}, r"lr == 1e\+308, must be a finite number in \(0, 1e\+06\]"),
        ({"momentum": 1.0}, r"momentum == 1.0, must be a finite number in \[0, 1\)"),
        ({"optimizer": "adam", "momentum": 0.9}, "momentum == 0.9 does not apply to 'adam'"),
        ({"loss": "crossentropy"}, "Did you mean 'cross_entropy'"),
        ({"loss": "bce"}, "needs labels 0 or 1"),
        ({"epochs": 0}, "epochs == 0"),
        ({"batch_size": 0}, "batch_size == 0"),
        ({"record_every": 0}, "record_every == 0"),
        ({"out": "run.json"}, "name it '\\*.h5'"),
        ({"out": "/no/such/folder/run.h5"}, "does not exist"),
    ],
)
def test_bad_arguments_are_one_line_errors(iris, kwargs, match):
    with pytest.raises(LosslabError, match=match) as error:
        train(build("mlp", iris, width=4), iris, **kwargs)
    assert "\n" not in str(error.value)


def test_bad_data_and_models(iris):
    model = build("mlp", iris, width=4)
    with pytest.raises(LosslabError, match="data is a str"):
        train(model, "iris")
    # the words of the shared batch adapter, as ModelObjective's batches get them
    with pytest.raises(LosslabError, match=r"112 samples but targets have shape \(5,\)"):
        train(model, (iris.X_train, iris.y_train[:5]))
    with pytest.raises(LosslabError, match="same number N >= 1 of samples"):
        train(model, (iris.X_train[:0], iris.y_train[:0]))
    with pytest.raises(LosslabError, match="model is a str"):
        train("mlp", iris)
    with pytest.raises(LosslabError, match=r"output of shape \(112, 3\) does not match"):
        train(model, (iris.X_train, iris.y_train.float()))
