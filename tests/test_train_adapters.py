"""ll.train on researchers' own models and data, read through objectives.adapters.

Oracles: the same training on the equivalent plain-tensor model or data (same seed, parameter
for parameter), a hand-written torch.optim loop with the weighted loss, a whole-data float64
evaluation of every recorded loss, and ModelObjective, which must take and refuse the same
things in the same words.
"""

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

import losslab.training as training
from losslab.data import load_dataset
from losslab.errors import LosslabError
from losslab.objectives.model import ModelObjective
from losslab.params import ParamLayout, model_vector
from losslab.training import train

pytestmark = pytest.mark.usefixtures("one_thread")

N, N_FEATURES, N_CLASSES = 40, 4, 3


def make_data(seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(N, N_FEATURES, generator=generator)
    y = torch.randint(0, N_CLASSES, (N,), generator=generator)
    w = torch.rand(N, generator=generator) * 2
    return X, y, w


@dataclass
class ModelOutput:  # a HuggingFace-style output object
    logits: torch.Tensor


class Net(nn.Module):
    """The plain model: one tensor in, one tensor of logits out."""

    def __init__(self, seed=0, n_out=N_CLASSES, n_in=N_FEATURES):
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Linear(n_in, 8), nn.Tanh(), nn.Linear(8, n_out))

    def forward(self, x):
        return self.body(x)


class DictNet(Net):
    def forward(self, x):
        return {"hidden": x, "logits": self.body(x)}


class TupleNet(Net):
    def forward(self, x):
        return self.body(x), x.sum()


class ObjectNet(Net):
    def forward(self, x):
        return ModelOutput(self.body(x))


class TwoInputs(Net):
    """Two inputs, a (B, 3) and b (B, 1), for model(a, b) and model(a=..., b=...)."""

    def forward(self, a, b, scale=1.0):
        return self.body(torch.cat([a, b], dim=1)) * scale


class DictDataset(torch.utils.data.Dataset):
    """HuggingFace-style samples: {"pixels", "label"[, "weight"]}."""

    def __init__(self, X, y, w=None):
        self.X, self.y, self.w = X, y, w

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        sample = {"pixels": self.X[i], "label": self.y[i]}
        if self.w is not None:
            sample["weight"] = self.w[i]
        return sample


def from_dict(batch):
    return batch["pixels"], batch["label"], batch.get("weight")


def logits(returned):
    return returned["logits"]


def refusal(fn) -> str:
    with pytest.raises(LosslabError) as error:
        fn()
    message = str(error.value)
    assert "\n" not in message
    return message


TRAINING = {"epochs": 2, "batch_size": 16, "lr": 0.1, "momentum": 0.5}


# -- output_fn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_class", "output_fn", "recorded"),
    [
        (DictNet, "logits", "logits"),
        (TupleNet, 0, 0),
        (ObjectNet, "logits", "logits"),
        (DictNet, logits, "logits"),
    ],
)
def test_output_fn_trains_exactly_as_the_plain_model(model_class, output_fn, recorded):
    X, y, _ = make_data()
    plain = train(Net(), (X, y), loss=None, **TRAINING)
    model = model_class()
    run = train(model, (X, y), loss=None, output_fn=output_fn, **TRAINING)
    assert torch.equal(run.params, plain.params)  # parameter for parameter, every step
    assert torch.equal(run.train_loss, plain.train_loss)
    assert run.hyperparameters["loss"] == "cross_entropy"  # picked through output_fn
    assert run.hyperparameters["output_fn"] == recorded
    assert torch.equal(model_vector(model), plain.final)  # trained in place


def test_the_automatic_loss_looks_through_output_fn():
    X, y, _ = make_data()
    one_logit = train(TupleNet(n_out=1), (X, y % 2), output_fn=0, epochs=1)
    assert one_logit.hyperparameters["loss"] == "bce"
    regression = train(TupleNet(n_out=1), (X, X[:, :1]), output_fn=0, epochs=1)
    assert regression.hyperparameters["loss"] == "mse"


def test_a_callable_loss_is_taken_the_same_way_by_train_and_model_objective():
    X, y, _ = make_data()

    def my_loss(outputs, targets):
        return F.cross_entropy(outputs, targets)

    model = DictNet()
    objective = ModelObjective(copy.deepcopy(model), my_loss, (X, y), output_fn="logits")
    run = train(model, (X, y), loss=my_loss, output_fn="logits", **TRAINING)
    plain = train(Net(), (X, y), loss=my_loss, **TRAINING)
    assert torch.equal(run.params, plain.params)
    assert run.hyperparameters["loss"] == "my_loss"
    for params, recorded in zip(run.params[::3], run.train_loss[::3], strict=True):
        assert objective(params).item() == pytest.approx(recorded.item(), rel=1e-6)


# -- batches: tuples and dicts of inputs, dict batches, dict data ------------------------------


def test_tuple_and_dict_inputs_call_the_model_with_several_arguments():
    X, y, _ = make_data()
    plain = train(Net(), (X, y), **TRAINING)
    pair = train(TwoInputs(), ((X[:, :3], X[:, 3:]), y), **TRAINING)
    assert torch.equal(pair.params, plain.params)
    named = train(TwoInputs(), ({"a": X[:, :3], "b": X[:, 3:], "scale": 1.0}, y), **TRAINING)
    assert torch.equal(named.params, plain.params)  # the non-tensor entry is passed along


def test_dict_batches_from_a_data_loader_with_batch_fn_equal_the_tensor_path():
    X, y, _ = make_data()
    pairs = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
    dicts = DataLoader(DictDataset(X, y), batch_size=16, shuffle=True)
    by_pairs = train(Net(), pairs, epochs=2, seed=3)
    by_dicts = train(Net(), dicts, batch_fn=from_dict, epochs=2, seed=3)
    assert torch.equal(by_dicts.params, by_pairs.params)  # the same seeded loader order
    assert by_dicts.hyperparameters["batch_fn"] == "from_dict"
    # one full batch in data order against the in-memory tensors: the same steps
    whole = DataLoader(DictDataset(X, y), batch_size=N)
    by_loader = train(Net(), whole, batch_fn=from_dict, epochs=3)
    by_tensors = train(Net(), (X, y), batch_size=N, epochs=3)
    torch.testing.assert_close(by_loader.params, by_tensors.params, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(by_loader.train_loss, by_tensors.train_loss, rtol=1e-6, atol=0)


def test_dict_tensor_data_with_batch_fn_is_sliced_like_tensors():
    X, y, _ = make_data()
    plain = train(Net(), (X, y), **TRAINING)
    run = train(Net(), {"pixels": X, "label": y}, batch_fn=from_dict, **TRAINING)
    assert torch.equal(run.params, plain.params)
    assert run.data["n_train"] == N


def test_a_losslab_dataset_goes_through_batch_fn_too():
    iris = load_dataset("iris")  # 4 features, 3 classes: Net's shapes
    seen = []

    def swap_back(batch):
        seen.append(len(batch[0]))
        return batch[0], batch[1]

    plain = train(Net(), iris, **TRAINING)
    run = train(Net(), iris, batch_fn=swap_back, **TRAINING)
    assert torch.equal(run.params, plain.params) and run.data == plain.data
    assert max(seen) == len(iris.X_train)  # the whole-set records read it too


# -- per-sample weights -----------------------------------------------------------------------


def test_weights_all_ones_equal_no_weights():
    X, y, _ = make_data()
    plain = train(Net(), (X, y), **TRAINING)
    ones = train(Net(), (X, y, torch.ones(N)), **TRAINING)
    torch.testing.assert_close(ones.params, plain.params, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ones.train_loss, plain.train_loss, rtol=1e-12, atol=0)
    assert ones.data["weighted"] is True
    # a torch loss module with class weights: its own weighted mean, weights or none
    module = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0, 0.5]))
    plain = train(Net(), (X, y), loss=module, **TRAINING)
    ones = train(Net(), (X, y, torch.ones(N)), loss=module, **TRAINING)
    torch.testing.assert_close(ones.params, plain.params, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["cross_entropy", "mse"])
def test_weighted_training_equals_a_hand_written_loop(kind):
    X, y, w = make_data()
    if kind == "mse":
        y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0])  # (N,) float targets, one output
    model = Net(n_out=N_CLASSES if kind == "cross_entropy" else 1)
    reference = copy.deepcopy(model)
    run = train(model, (X, y, w), loss=kind, **TRAINING)

    def per_sample(outputs, targets):
        if kind == "mse":
            return (outputs[:, 0] - targets) ** 2
        return F.cross_entropy(outputs, targets, reduction="none")

    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.5)
    generator = torch.Generator().manual_seed(0)
    path = [model_vector(reference)]
    for _ in range(TRAINING["epochs"]):
        order = torch.randperm(N, generator=generator)
        for start in range(0, N, TRAINING["batch_size"]):
            index = order[start : start + TRAINING["batch_size"]]
            optimizer.zero_grad()
            losses = per_sample(reference(X[index]), y[index])
            ((w[index] * losses).sum() / w[index].sum()).backward()
            optimizer.step()
            path.append(model_vector(reference))
    torch.testing.assert_close(run.params, torch.stack(path), rtol=1e-6, atol=1e-7)


def test_a_data_loader_of_weighted_triples_equals_weighted_tensors():
    X, y, w = make_data()
    loader = DataLoader(TensorDataset(X, y, w), batch_size=N)  # was refused as "not (x, y)"
    by_loader = train(Net(), loader, epochs=3)
    dicts = DataLoader(DictDataset(X, y, w), batch_size=N)
    by_dicts = train(Net(), dicts, batch_fn=from_dict, epochs=3)
    by_tensors = train(Net(), (X, y, w), batch_size=N, epochs=3)
    torch.testing.assert_close(by_loader.params, by_tensors.params, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(by_dicts.params, by_tensors.params, rtol=1e-6, atol=1e-7)
    plain = train(Net(), (X, y), batch_size=N, epochs=3)
    assert not torch.allclose(by_tensors.params[-1], plain.params[-1])  # the weights count


def test_a_batch_whose_weights_are_all_zero_takes_no_step():
    X, y, w = make_data()
    w[: N // 2] = 0.0  # the first of two unshuffled batches weighs nothing
    loader = DataLoader(TensorDataset(X, y, w), batch_size=N // 2)
    run = train(Net(), loader, epochs=1, lr=0.1)
    assert run.status == "completed"
    assert torch.equal(run.params[1], run.params[0])  # loss 0, gradient 0: no step
    assert not torch.equal(run.params[2], run.params[1])


# -- the recorded loss: exact whole-data values -----------------------------------------------


def whole_data_loss(model, params, X, y, w=None, class_weights=None):
    """The float64 loss of the whole data in one pass at `params`: torch's own
    (class-)weighted cross-entropy mean, or sum(w_i l_i) / sum(w_i) with weights."""
    outputs = functional_call(model, model_params(model, params), (X,))
    if w is None:
        return F.cross_entropy(outputs, y, weight=class_weights).item()
    losses = F.cross_entropy(outputs, y, reduction="none")
    return ((w * losses).sum() / w.sum()).item()


def model_params(model, vector):
    return ParamLayout.of(model).unflatten(vector)


@pytest.mark.parametrize("case", ["plain", "class weights", "sample weights", "loader"])
def test_recorded_losses_equal_a_whole_data_float64_evaluation(case, monkeypatch):
    monkeypatch.setattr(training, "EVAL_CHUNK", 7)  # 40 samples: 6 chunks, the last short
    X, y, w = make_data()
    X, w = X.double(), w.double()
    class_weights = torch.tensor([1.0, 5.0, 0.2], dtype=torch.float64)
    model = Net().double()
    if case == "plain":
        run = train(model, (X, y), **TRAINING)
        expected = [whole_data_loss(model, p, X, y) for p in run.params]
    elif case == "class weights":  # chunk means weighted by size would be wrong here
        module = nn.CrossEntropyLoss(weight=class_weights)
        run = train(model, (X, y), loss=module, **TRAINING)
        expected = [
            whole_data_loss(model, p, X, y, class_weights=class_weights) for p in run.params
        ]
        chunked = [
            sum(
                F.cross_entropy(
                    functional_call(model, model_params(model, run.params[0]), (X[s : s + 7],)),
                    y[s : s + 7],
                    weight=class_weights,
                ).item()
                * len(y[s : s + 7])
                for s in range(0, N, 7)
            )
            / N
        ]
        assert abs(chunked[0] - expected[0]) > 1e-3  # the old way: not the whole-data loss
    elif case == "sample weights":
        run = train(model, (X, y, w), **TRAINING)
        expected = [whole_data_loss(model, p, X, y, w) for p in run.params]
    else:
        loader = DataLoader(TensorDataset(X, y, w), batch_size=16, shuffle=True)
        run = train(model, loader, epochs=2)
        expected = [whole_data_loss(model, p, X, y, w) for p in run.params]
    torch.testing.assert_close(
        run.train_loss, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize(
    "module",
    [
        nn.CrossEntropyLoss(weight=torch.tensor([1.0, 5.0, 0.2])),
        nn.CrossEntropyLoss(reduction="sum"),
    ],
    ids=["class-weighted mean", "sum"],
)
def test_recorded_losses_are_the_model_objective_values(module):
    # Both define the set's loss as the module returns it on all samples at once: a weighted
    # mean, or the sum over every sample for reduction="sum".
    X, y, _ = make_data()
    model = DictNet()
    objective = ModelObjective(copy.deepcopy(model), module, (X, y), output_fn="logits")
    run = train(model, (X, y), loss=module, output_fn="logits", **TRAINING)
    values = objective.evaluate(run.params)["loss"].double()
    torch.testing.assert_close(run.train_loss, values, rtol=2e-6, atol=0)


# -- refusals ---------------------------------------------------------------------------------


def four_items(batch):
    return batch[0], batch[1], None, None


def meta_model():
    with torch.device("meta"):
        return Net()


def dict_loader():
    X, y, _ = make_data()
    return DataLoader(DictDataset(X, y), batch_size=16)


# (what is wrong, model, data, keyword arguments for both train and ModelObjective, the
# start of the message both give)
SAME_REFUSALS = [
    (
        "dict batches without batch_fn",
        Net,
        dict_loader,
        {},
        "a batch is a dict with keys 'pixels', 'label'; give (inputs, targets) or",
    ),
    (
        "a dict output without output_fn",
        DictNet,
        lambda: make_data()[:2],
        {},
        "the model returns a dict with keys 'hidden', 'logits'; pass output_fn= a key",
    ),
    (
        "a tuple output without output_fn",
        TupleNet,
        lambda: make_data()[:2],
        {},
        "the model returns a tuple of 2 items; pass output_fn=",
    ),
    (
        "output_fn naming a missing key",
        DictNet,
        lambda: make_data()[:2],
        {"output_fn": "logitz"},
        "output_fn='logitz', but the model returns a dict with keys 'hidden', 'logits'.",
    ),
    (
        "output_fn of a wrong kind",
        DictNet,
        lambda: make_data()[:2],
        {"output_fn": True},
        "output_fn is a bool; give a key or attribute name",
    ),
    (
        "a meta-device model",
        meta_model,
        lambda: make_data()[:2],
        {},
        "the model's 'body.0.weight' is on the meta device and holds no values",
    ),
    (
        "a Lazy model",
        lambda: nn.Sequential(nn.LazyLinear(3)),
        lambda: make_data()[:2],
        {},
        "the model's '0.weight' is not materialized yet (a Lazy module)",
    ),
    (
        "batch_fn returning a 4-tuple",
        Net,
        lambda: make_data()[:2],
        {"batch_fn": four_items},
        "the result of batch_fn 'four_items' is a tuple of 4 items; batch_fn must return",
    ),
    (
        "batch_fn that is not callable",
        Net,
        lambda: make_data()[:2],
        {"batch_fn": "pixels"},
        "batch_fn is a str; give a callable(batch)",
    ),
    (
        "weights of the wrong shape",
        Net,
        lambda: (*make_data()[:2], torch.ones(5)),
        {},
        "a batch: weights of shape (5,) and dtype float32; give one float weight per sample, "
        "shape (40,).",
    ),
    (
        "negative weights",
        Net,
        lambda: (*make_data()[:2], -torch.ones(N)),
        {},
        "a batch: weights must be finite and >= 0.",
    ),
]


@pytest.mark.parametrize(
    ("model", "data", "kwargs", "start"),
    [case[1:] for case in SAME_REFUSALS],
    ids=[case[0] for case in SAME_REFUSALS],
)
def test_train_and_model_objective_refuse_in_the_same_words(model, data, kwargs, start):
    by_train = refusal(lambda: train(model(), data(), loss="cross_entropy", **kwargs))
    by_objective = refusal(lambda: ModelObjective(model(), "cross_entropy", data(), **kwargs))
    assert by_train == by_objective
    assert by_train.startswith(start)
    assert refusal(lambda: train(model(), data(), loss=None, **kwargs)) == by_train


def test_losses_that_cannot_weight_are_refused_before_training():
    X, y, w = make_data()

    def my_loss(outputs, targets):
        return F.cross_entropy(outputs, targets)

    assert refusal(lambda: train(Net(), (X, y, w), loss=my_loss)) == (
        "loss 'my_loss' is a plain callable that returns only the mean, and the data has "
        "per-sample weights: give 'cross_entropy', 'mse', 'bce' or a torch loss module, or "
        "data without weights."
    )
    summed = nn.CrossEntropyLoss(reduction="sum")
    assert refusal(lambda: train(Net(), (X, y, w), loss=summed)) == (
        "loss CrossEntropyLoss has reduction='sum', and the data has per-sample weights, which "
        "average the per-sample losses: give the module reduction='mean', or data without "
        "weights."
    )
    assert refusal(lambda: train(Net(), (X, y, torch.zeros(N)))) == (
        "the per-sample weights sum to 0 over the training set: give at least one positive weight."
    )
    unreduced = nn.CrossEntropyLoss(reduction="none")
    assert refusal(lambda: train(Net(), (X, y), loss=unreduced)).startswith(
        "loss 'CrossEntropyLoss' returned a Tensor of shape (40,); it must return a scalar"
    )


def test_bad_data_forms_are_refused_in_one_line():
    X, y, w = make_data()
    assert refusal(lambda: train(Net(), {"pixels": X, "label": y})) == (
        "data is a dict: give a losslab Dataset, tensors (X, y) or (X, y, weights), or a torch "
        "DataLoader."
    )
    assert refusal(lambda: train(Net(), (X, y, w, w))).startswith("data is a tuple: give")
    mismatched = {"pixels": X, "label": y[:5]}
    assert refusal(lambda: train(Net(), mismatched, batch_fn=from_dict)) == (
        "data: its tensors lead with 40, 5; every tensor of data needs the same number N >= 1 "
        "of samples as its leading dimension."
    )
    assert "a batch is a dict" in refusal(lambda: train(Net(), dict_loader()))
    assert refusal(lambda: train(Net(), {"text": "abc"}, batch_fn=from_dict)).startswith(
        "data: its tensors lead with nothing;"
    )
