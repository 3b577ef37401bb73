"""Complex parameters or data cannot make a real loss landscape: `ll.ModelObjective` and
`ll.train` refuse them in one line, naming the parameter, before anything is computed."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import losslab as ll

X = torch.randn(12, 3, generator=torch.Generator().manual_seed(0))
Y = (X[:, 0] > 0).long()


def model(dtype: torch.dtype, *, only_first: bool) -> nn.Module:
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    if only_first:  # a mixed model: one complex parameter among real ones
        net[0].weight = nn.Parameter(net[0].weight.detach().to(dtype))
        return net
    with warnings.catch_warnings():  # torch: "Complex modules are a new feature"
        warnings.simplefilter("ignore", UserWarning)
        return net.to(dtype)


def build_objective(net, data):
    return ll.ModelObjective(net, "cross_entropy", data)


def train(net, data):
    return ll.train(net, data, epochs=1, batch_size=4)


@pytest.mark.parametrize("run", [build_objective, train])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("only_first", [True, False])
def test_complex_parameters_are_refused_in_one_line(run, dtype, only_first):
    net = model(dtype, only_first=only_first)
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ll.LosslabError) as info:
        run(net, (X, Y))
    message = str(info.value)
    name = str(dtype).removeprefix("torch.")
    more = "" if only_first else " (and 3 more)"
    assert message.startswith(f"the model's parameter '0.weight'{more} is {name}: "), message
    assert "\n" not in message
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_frozen_complex_parameters_are_not_what_is_measured():
    """Only trainable parameters make the vector; a frozen complex one is the model's own
    business (here unused by forward), so it is not refused."""
    net = model(torch.float32, only_first=True)
    net.register_parameter("phase", nn.Parameter(torch.ones(2, dtype=torch.complex64), False))
    objective = ll.ModelObjective(net, "cross_entropy", (X, Y))
    assert objective.n_params == sum(p.numel() for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("run", [build_objective, train])
@pytest.mark.parametrize("part", ["X", "y"])
def test_complex_data_is_refused_in_one_line(run, part):
    data = (X.to(torch.complex64), Y) if part == "X" else (X, Y.to(torch.complex64))
    with pytest.raises(ll.LosslabError, match=rf"{part} is complex64; losses over complex"):
        run(model(torch.float32, only_first=True), data)
