"""objectives.adapters: every branch of what losslab takes from a researcher's own model and
data, and every refusal as one line that names what was given and what is allowed."""

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from losslab.errors import LosslabError
from losslab.objectives.adapters import (
    Batch,
    batch_adapter,
    call_model,
    check_batch,
    check_materialized,
    map_tensors,
    n_samples,
    output_adapter,
    place,
    tensors_of,
)

X = torch.randn(4, 3)
Y = torch.tensor([0, 1, 2, 1])
W = torch.tensor([1.0, 0.5, 0.0, 2.0])


def refusal(fn, *args) -> str:
    """The one-line message fn(*args) refuses with."""
    with pytest.raises(LosslabError) as error:
        fn(*args)
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    return message


# -- batches -----------------------------------------------------------------------------------


def test_pairs_and_triples_become_batches_of_the_same_tensors():
    pair = batch_adapter()((X, Y))
    assert isinstance(pair, Batch) and pair.weights is None
    assert pair.inputs is X and pair.targets is Y
    triple = batch_adapter(None)([X, Y, W])
    assert triple.inputs is X and triple.targets is Y and triple.weights is W
    assert batch_adapter()((X, Y, None)).weights is None
    assert batch_adapter()(Batch(X, Y, W)) == Batch(X, Y, W)


def test_arrays_become_tensors_and_other_entries_are_kept():
    batch = check_batch((X.numpy(), Y.numpy(), W.numpy()))
    assert torch.equal(batch.inputs, X) and torch.equal(batch.targets, Y)
    assert torch.equal(batch.weights, W)
    assert torch.equal(check_batch((X, [0, 1, 2, 1])).targets, Y)  # a list of numbers
    inputs = {"x": X.numpy(), "mask": np.ones(4, dtype=bool), "scale": np.float32(2.0), "tag": "a"}
    batch = check_batch((inputs, Y))
    assert torch.equal(batch.inputs["x"], X) and batch.inputs["mask"].dtype == torch.bool
    assert batch.inputs["scale"] == np.float32(2.0) and type(batch.inputs["scale"]) is np.float32
    assert batch.inputs["tag"] == "a"
    pair = check_batch(((X, X[:, :1], None), Y)).inputs
    assert isinstance(pair, tuple) and pair[0] is X and pair[2] is None


def test_batch_fn_reads_dict_batches():
    def from_dict(batch):
        return {"x": batch["pixels"]}, batch["label"], batch["w"]

    batch = batch_adapter(from_dict)({"pixels": X, "label": Y, "w": W})
    assert batch.inputs["x"] is X and batch.targets is Y and batch.weights is W


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"x": X, "y": Y}, "a batch is a dict with keys 'x', 'y'; give (inputs, targets)"),
        ("xy", "a batch is a str; give (inputs, targets) or (inputs, targets, weights)"),
        (X, "a batch is a Tensor; give"),
        ((X,), "a batch is a tuple of 1 items; give"),
        ((X, Y, W, W), "a batch is a tuple of 4 items; give"),
        ((X, Y[:3]), r"a batch: inputs have 4 samples but targets have shape (3,); targets need"),
        ((X, torch.tensor(1)), "targets have shape (); targets need the same leading dimension"),
        ((X, Y, W.long()), "weights of shape (4,) and dtype int64; give one float weight per"),
        ((X, Y, W[:, None]), "weights of shape (4, 1) and dtype float32; give one float weight"),
        ((X, Y, -W), "a batch: weights must be finite and >= 0."),
        ((X, Y, W * torch.nan), "a batch: weights must be finite and >= 0."),
        ((X, {"a": Y}), "a batch: targets (dict) is not a tensor, array or list of numbers"),
        (("pixels", Y), "a batch: an input (str) is not a tensor, array or list of numbers"),
        (([1.0, 2.0], Y), "a batch has inputs of type list; inputs are a tensor or array"),
        (({"a": X, "b": X[:2]}, Y), "('a' leads with 4, 'b' leads with 2); every input needs"),
        (((X, torch.tensor(1.0)), Y), "(input 0 leads with 4, input 1 is 0-d); every input"),
    ],
)
def test_bad_batches_are_refused_in_one_line(raw, expected):
    assert expected in refusal(batch_adapter(), raw)


def test_batch_fn_results_are_refused_in_their_own_words():
    def four(batch):
        return X, Y, W, W

    message = refusal(batch_adapter(four), (X, Y))
    assert message == (
        "the result of batch_fn 'four' is a tuple of 4 items; batch_fn must return (inputs, "
        "targets) or (inputs, targets, weights)."
    )
    message = refusal(batch_adapter(lambda b: {"x": X}), (X, Y))
    assert message.startswith("the result of batch_fn '<lambda>' is a dict with keys 'x';")

    def broken(batch):
        return batch["x"]

    assert refusal(batch_adapter(broken), (X, Y)) == (
        "batch_fn 'broken' failed: TypeError: tuple indices must be integers or slices, not str."
    )
    assert refusal(batch_adapter, "pairs") == (
        "batch_fn is a str; give a callable(batch) -> (inputs, targets) or (inputs, targets, "
        "weights), or None."
    )


def test_a_losslab_error_in_batch_fn_passes_unchanged():
    def strict(batch):
        raise LosslabError("my own words.")

    assert refusal(batch_adapter(strict), (X, Y)) == "my own words."


def test_n_samples_tensors_of_and_map_tensors():
    assert n_samples(X) == 4 and n_samples((X, {"no": 1})) == 4
    assert n_samples({"a": X, "flag": True}) == 4
    assert refusal(n_samples, {"flag": True}).startswith("inputs: the inputs hold no tensor;")
    assert tensors_of(X) == [X] and tensors_of((X, 3, Y)) == [X, Y]
    assert tensors_of({"a": X, "b": "text"}) == [X] and tensors_of("text") == []
    doubled = map_tensors(lambda t: t * 2, {"a": X, "b": "text", "c": 3})
    assert torch.equal(doubled["a"], 2 * X) and doubled["b"] == "text" and doubled["c"] == 3
    assert isinstance(map_tensors(lambda t: t, [X, None]), list)
    assert torch.equal(map_tensors(lambda t: t + 1, X), X + 1)


def test_place_puts_a_batch_where_and_as_the_model_wants_it():
    mask = torch.ones(4, dtype=torch.bool)
    tokens = torch.arange(4, dtype=torch.int32)
    batch = Batch({"x": X.double(), "mask": mask, "tokens": tokens, "n": 3}, Y.int(), W.double())
    placed = place(batch, torch.float32, "cpu")
    assert placed.inputs["x"].dtype == torch.float32 and torch.equal(placed.inputs["x"], X)
    assert placed.inputs["mask"].dtype == torch.bool and placed.inputs["n"] == 3
    assert placed.inputs["tokens"].dtype == torch.int32  # token ids stay as they are
    assert placed.targets.dtype == torch.int64 and placed.weights.dtype == torch.float32
    assert place(Batch(X, Y.double()), torch.float32, "cpu").targets.dtype == torch.float32
    assert place(Batch(X, Y.bool()), torch.float64, "cpu").targets.dtype == torch.float64
    assert place(Batch(X, Y), torch.float64, "cpu").inputs.dtype == torch.float64
    message = refusal(place, Batch(X.to(torch.complex64), Y), torch.float32, "cpu")
    assert message.startswith("data: X is complex64; losses over complex numbers")
    message = refusal(place, Batch(X, Y.to(torch.complex64)), torch.float32, "cpu")
    assert message.startswith("data: y is complex64")


# -- the model ---------------------------------------------------------------------------------


def test_call_model_spreads_tuples_and_dicts():
    def model(*args, **kwargs):
        return args, kwargs

    assert call_model(model, X) == ((X,), {})
    assert call_model(model, (X, Y)) == ((X, Y), {})
    assert call_model(model, [X, Y]) == ((X, Y), {})
    assert call_model(model, {"a": X, "b": Y}) == ((), {"a": X, "b": Y})


@dataclass
class ModelOutput:  # a HuggingFace-style output object
    logits: torch.Tensor
    loss: torch.Tensor | None = None


class HFOutput(OrderedDict):  # HuggingFace's ModelOutput is an OrderedDict with attributes
    def __getattr__(self, name):
        return self[name]


def test_output_fn_picks_a_key_an_attribute_an_index_or_calls():
    out = torch.randn(4, 3)
    assert output_adapter()(out) is out and output_adapter(None)(out) is out
    assert output_adapter("logits")({"logits": out, "aux": 1}) is out
    assert output_adapter("logits")(ModelOutput(out)) is out
    assert output_adapter("logits")(HFOutput(logits=out)) is out
    assert output_adapter(0)((out, "state")) is out
    assert output_adapter(-1)([None, out]) is out
    assert output_adapter(lambda r: r["a"] * 2)({"a": out}).equal(out * 2)


@pytest.mark.parametrize(
    ("output_fn", "returned", "expected"),
    [
        (None, {"logits": X, "aux": Y}, "the model returns a dict with keys 'logits', 'aux'; pass"),
        (None, (X, Y), "the model returns a tuple of 2 items; pass output_fn= a key"),
        (None, ModelOutput(X), "the model returns a ModelOutput; pass output_fn= a key or"),
        ("logitz", {"logits": X}, "output_fn='logitz', but the model returns a dict with keys"),
        ("logitz", ModelOutput(X), "output_fn='logitz', but the model returns a ModelOutput."),
        ("logits", (X,), "output_fn='logits', but the model returns a tuple of 1 items."),
        ("loss", ModelOutput(X), "output_fn='loss' gives a NoneType; it must give one tensor"),
        (2, (X, Y), "output_fn=2, but the model returns a tuple of 2 items."),
        (-3, (X, Y), "output_fn=-3, but the model returns a tuple of 2 items."),
        (0, {"logits": X}, "output_fn=0, but the model returns a dict with keys 'logits'."),
        (0, X, "output_fn=0, but the model returns a tensor of shape (4, 3)."),
        (lambda r: r[1:], (X, Y), "output_fn=<lambda> gives a tuple of 1 items; it must give"),
    ],
)
def test_outputs_that_are_not_one_tensor_are_refused(output_fn, returned, expected):
    message = refusal(output_adapter(output_fn), returned)
    assert message.startswith(expected)


@pytest.mark.parametrize(
    ("output_fn", "name"),
    [(True, "bool"), (1.5, "float"), (["logits"], "list"), (b"logits", "bytes")],
)
def test_output_fn_of_a_wrong_kind_is_refused(output_fn, name):
    assert refusal(output_adapter, output_fn) == (
        f"output_fn is a {name}; give a key or attribute name ('logits'), an index (0) for a "
        "tuple, or a callable(outputs) -> tensor, or None."
    )


def test_long_key_lists_are_cut():
    many = {f"k{i}": X for i in range(10)}
    assert refusal(output_adapter(), many).startswith(
        "the model returns a dict with keys 'k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', ...;"
    )
    assert refusal(check_batch, many).startswith("a batch is a dict with keys 'k0', 'k1',")


def test_a_failing_output_fn_is_named():
    def pick(returned):
        return returned["missing"]

    assert (
        refusal(output_adapter(pick), {"a": X}) == "output_fn 'pick' failed: KeyError: 'missing'."
    )


# -- materialized models -----------------------------------------------------------------------


def test_meta_and_lazy_models_are_refused_in_one_line():
    check_materialized(nn.Linear(3, 2))  # a plain model passes
    with torch.device("meta"):
        meta = nn.Sequential(nn.Linear(3, 2))
    assert refusal(check_materialized, meta).startswith(
        "the model's '0.weight' is on the meta device and holds no values: load its weights"
    )
    lazy = nn.Sequential(nn.LazyLinear(2))
    assert refusal(check_materialized, lazy).startswith(
        "the model's '0.weight' is not materialized yet (a Lazy module): run the model once"
    )
    lazy(X)  # one call materializes it
    check_materialized(lazy)
    buffered = nn.BatchNorm1d(3)
    buffered.register_buffer("extra", torch.empty(3, device="meta"))
    assert "'extra' is on the meta device" in refusal(check_materialized, buffered)
