"""ModelObjective on researchers' own models and data: dict, tuple and HuggingFace-style model
outputs (output_fn), dict batches (batch_fn), per-sample weights, models taking several or
named inputs, integer inputs through an Embedding; recurrent and attention models' Hessians.

Oracles: a plain per-point loop (load the point into a copy of the model, call it, apply the
torch loss), and dense reverse-over-reverse torch.func Hessians of a plain loss function.
"""

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from test_model_objective import load, random_points, tabular
from torch import nn
from torch.func import functional_call, jacrev
from torch.utils.data import DataLoader, Dataset, TensorDataset

from losslab.errors import LosslabError
from losslab.objectives.kernels import twice_differentiable
from losslab.objectives.model import ModelObjective


@dataclass
class Output:
    """What a HuggingFace model returns: an object with a `logits` attribute."""

    logits: torch.Tensor
    hidden: torch.Tensor | None = None


class Net(nn.Module):
    """A small classifier returning a tensor, a dict, a tuple or an HF-style object."""

    def __init__(self, returns="tensor", seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.returns = returns
        self.hidden = nn.Linear(5, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.tanh(self.hidden(x))
        logits = self.out(h)
        if self.returns == "dict":
            return {"hidden": h, "logits": logits}
        if self.returns == "tuple":
            return logits, h
        if self.returns == "object":
            return Output(logits, h)
        return logits


class TwoInputs(nn.Module):
    """model(a, b) or model(a=..., b=...)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(3, 6), nn.Linear(2, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, a, b):
        return self.out(torch.relu(self.a(a) + self.b(b)))


class Tokens(nn.Module):
    """Token ids (N, T) int64 -> an Embedding, mean over positions -> logits."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(11, 4)
        self.out = nn.Linear(4, 3)

    def forward(self, ids):
        return self.out(self.embed(ids).mean(dim=1))


def loop(model, layout, points, call, pick, y, weights=None):
    """The oracle: per point, a copy of the model with its weights, called on all data."""
    losses, accuracies = [], []
    for point in points:
        with torch.no_grad():
            logits = pick(call(load(model, layout, point)))
        per_sample = F.cross_entropy(logits, y, reduction="none")
        hits = (logits.argmax(1) == y).float()
        if weights is None:
            losses.append(per_sample.mean())
            accuracies.append(hits.mean())
        else:
            losses.append((weights * per_sample).sum() / weights.sum())
            accuracies.append((weights * hits).sum() / weights.sum())
    return torch.stack(losses), torch.stack(accuracies)


def check(objective, model, call, pick, y, weights=None):
    points = random_points(objective, n=3)
    loss, accuracy = loop(model, objective.layout, points, call, pick, y, weights)
    result = objective.evaluate(points)
    torch.testing.assert_close(result["loss"], loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result["accuracy"], accuracy, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(objective(points), loss, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("returns", "output_fn", "pick"),
    [
        ("dict", "logits", lambda out: out["logits"]),
        ("tuple", 0, lambda out: out[0]),
        ("object", "logits", lambda out: out.logits),
        ("dict", lambda out: out["logits"] * 2.0, lambda out: out["logits"] * 2.0),
    ],
)
def test_output_fn_picks_the_output_like_a_loop(returns, output_fn, pick):
    x, y = tabular()
    model = Net(returns)
    for size in (None, 7):
        objective = ModelObjective(
            model, "cross_entropy", (x, y), output_fn=output_fn, eval_batch_size=size
        )
        check(objective, model, lambda m: m(x), pick, y)
    # the gradient goes through the picked output
    objective = ModelObjective(model, "cross_entropy", (x, y), output_fn=output_fn)
    point = objective.origin.clone().requires_grad_(True)
    copied = load(model, objective.layout, objective.origin)
    params = objective.layout.unflatten(point)
    expected = F.cross_entropy(pick(functional_call(copied, params, (x,))), y)
    (expected_grad,) = torch.autograd.grad(expected, point)
    _, grads = objective.value_and_grad(objective.origin[None])
    torch.testing.assert_close(grads[0], expected_grad, rtol=1e-5, atol=1e-6)


class DictRows(Dataset):
    """Samples as dicts, as a HuggingFace dataset gives them."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"features": self.x[i], "label": self.y[i], "id": i}


def test_batch_fn_turns_dict_batches_into_pairs():
    x, y = tabular()
    model = Net()
    loader = DataLoader(DictRows(x, y), batch_size=16, shuffle=True)

    def batch_fn(batch):
        return batch["features"], batch["label"]

    for size in (None, 7):
        objective = ModelObjective(
            model, "cross_entropy", loader, batch_fn=batch_fn, eval_batch_size=size
        )
        check(objective, model, lambda m: m(x), lambda out: out, y)
    # dict data in memory goes through batch_fn too
    objective = ModelObjective(
        model, "cross_entropy", {"features": x, "label": y}, batch_fn=batch_fn
    )
    check(objective, model, lambda m: m(x), lambda out: out, y)


def test_weighted_batches_from_a_dataloader():
    x, y = tabular()
    w = torch.rand(90, generator=torch.Generator().manual_seed(1))
    model = Net()
    loader = DataLoader(TensorDataset(x, y, w), batch_size=16)
    for size in (None, 7):
        objective = ModelObjective(model, "cross_entropy", loader, eval_batch_size=size)
        assert objective.describe()["data"]["weighted"]
        check(objective, model, lambda m: m(x), lambda out: out, y, weights=w)


def test_models_taking_several_or_named_inputs():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(60, 3, generator=generator), torch.randn(60, 2, generator=generator)
    y = torch.randint(0, 3, (60,), generator=generator)
    model = TwoInputs()
    for size in (None, 7):
        named = ModelObjective(model, "cross_entropy", ({"a": a, "b": b}, y), eval_batch_size=size)
        check(named, model, lambda m: m(a=a, b=b), lambda out: out, y)
        tupled = ModelObjective(model, "cross_entropy", ((a, b), y), eval_batch_size=size)
        check(tupled, model, lambda m: m(a, b), lambda out: out, y)
    assert not named.fast_path


def test_integer_inputs_stay_integer_for_an_embedding():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 11, (50, 6), generator=generator)
    y = torch.randint(0, 3, (50,), generator=generator)
    model = Tokens()
    for size in (None, 7):
        objective = ModelObjective(model, "cross_entropy", (ids, y), eval_batch_size=size)
        assert all(b.inputs.dtype == torch.int64 for b in objective.batches())
        check(objective, model, lambda m: m(ids), lambda out: out, y)


def test_adapter_refusals_are_one_line():
    x, y = tabular()
    cases = [
        (Net("dict"), {}, (x, y), "the model returns a dict with keys 'hidden', 'logits'"),
        (Net("dict"), {"output_fn": "scores"}, (x, y), "output_fn='scores'"),
        (Net("tuple"), {"output_fn": 5}, (x, y), "output_fn=5"),
        (Net(), {"output_fn": 1.5}, (x, y), "output_fn is a float"),
        (Net(), {"batch_fn": "features"}, (x, y), "batch_fn is a str"),
        (Net(), {"batch_fn": lambda b: b["nope"]}, (x, y), "batch_fn '<lambda>' failed"),
    ]
    for model, kwargs, data, words in cases:
        with pytest.raises(LosslabError, match=words) as info:
            ModelObjective(model, "cross_entropy", data, **kwargs)
        assert "\n" not in str(info.value)
    with torch.device("meta"):
        meta = Net()
    with pytest.raises(LosslabError, match="meta device") as info:
        ModelObjective(meta, "cross_entropy", (x, y))
    lazy = nn.Sequential(nn.LazyLinear(3))
    with pytest.raises(LosslabError, match="not materialized") as info:
        ModelObjective(lazy, "cross_entropy", (x, y))
    assert "\n" not in str(info.value)


# -- recurrent and attention models: exact, symmetric Hessians --------------------------------


class Recurrent(nn.Module):
    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(0)
        self.rnn = (nn.GRU if kind == "gru" else nn.LSTM)(3, 6, batch_first=True)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


class Attention(nn.Module):
    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(0)
        self.kind = kind
        self.inp = nn.Linear(3, 8)
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.qkv = nn.Linear(8, 24)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        h = self.inp(x)
        if self.kind == "mha":
            h, _ = self.mha(h, h, h)
        else:
            q, k, v = self.qkv(h).reshape(*h.shape[:2], 3, 2, 4).unbind(2)
            h = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            )
            h = h.transpose(1, 2).reshape(*x.shape[:2], 8)
        return self.out(h.mean(dim=1))


@pytest.mark.parametrize("kind", ["gru", "lstm", "mha", "sdpa"])
def test_hessians_of_recurrent_and_attention_models_are_exact_and_symmetric(kind):
    model = Recurrent(kind) if kind in ("gru", "lstm") else Attention(kind)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(12, 4, 3, generator=generator)
    y = torch.randint(0, 2, (12,), generator=generator)
    objective = ModelObjective(model, "cross_entropy", (x, y), eval_batch_size=5)
    assert objective.n_params < 2000 and objective.n_batches == 3
    layout = objective.layout
    copied = load(model, layout, objective.origin)

    def loss(vector):
        return F.cross_entropy(functional_call(copied, layout.unflatten(vector), (x,)), y)

    with twice_differentiable():
        expected = jacrev(jacrev(loss))(objective.origin)
    got = objective.hessian(objective.origin[None])[0]
    assert torch.equal(got, got.T)
    torch.testing.assert_close(got, (expected + expected.T) / 2, rtol=1e-4, atol=1e-5)


class Skewed(torch.autograd.Function):
    """0.5 w^T A w with a backward of A w for a non-symmetric A: its second derivative by
    reverse mode is A, not symmetric (a layer whose derivative is wrong)."""

    generate_vmap_rule = True
    A = torch.tensor([[1.0, 2.0], [0.0, 1.0]])

    @staticmethod
    def forward(w):
        return 0.5 * (w @ Skewed.A @ w)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (Skewed.A @ w)


class SkewedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([0.3, -0.2]))

    def forward(self, x):
        return x[:, :1] * 0 + Skewed.apply(self.w)


def test_a_non_symmetric_hessian_is_refused_in_one_line():
    x = torch.randn(10, 2)
    objective = ModelObjective(SkewedModel(), "mse", (x, torch.zeros(10)))
    with pytest.raises(LosslabError, match="not symmetric: max") as info:
        objective.hessian(objective.origin[None])
    assert "\n" not in str(info.value)
