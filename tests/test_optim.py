"""Optimizers against torch.optim: identical trajectories, step for step."""

import re

import pytest
import torch

import losslab as ll
from losslab import optim

SURFACES = [
    ("bowl", (3.0, -4.0)),
    ("rosenbrock", (-1.5, 2.0)),
    ("himmelblau", (0.5, -0.3)),
    ("booth", (-4.0, 6.0)),
]

# (losslab optimizer, torch.optim optimizer over [param]) with matching hyperparameters.
PAIRS = {
    "gd": (lambda: optim.gd(1e-3), lambda p: torch.optim.SGD(p, lr=1e-3)),
    "momentum": (
        lambda: optim.momentum(1e-3, beta=0.9),
        lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9),
    ),
    "nesterov": (
        lambda: optim.nesterov(1e-3, beta=0.8),
        lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8, nesterov=True),
    ),
    "adagrad": (lambda: optim.adagrad(0.05), lambda p: torch.optim.Adagrad(p, lr=0.05)),
    "rmsprop": (lambda: optim.rmsprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "adam": (
        lambda: optim.adam(0.02, betas=(0.8, 0.99)),
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99)),
    ),
}


def torch_path(surface, make_optimizer, start, n_steps):
    param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([param])
    path = [param.detach().clone()]
    for _ in range(n_steps):
        opt.zero_grad()
        surface(param).backward()
        opt.step()
        path.append(param.detach().clone())
    return torch.stack(path)


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize(("surface_name", "start"), SURFACES)
def test_matches_torch_optim(name, surface_name, start):
    surface = ll.surface(surface_name)
    ours, theirs = PAIRS[name]
    trajectory = ll.descend(surface, ours(), start, 200, tol=0.0)
    assert trajectory.status == "max_steps"
    expected = torch_path(surface, theirs, start, 200)
    torch.testing.assert_close(trajectory.params, expected, rtol=1e-10, atol=1e-12)


def test_defaults_follow_torch_optim():
    defaults = {
        "adagrad": (optim.adagrad(), torch.optim.Adagrad([torch.zeros(1)])),
        "rmsprop": (optim.rmsprop(), torch.optim.RMSprop([torch.zeros(1)])),
        "adam": (optim.adam(), torch.optim.Adam([torch.zeros(1)])),
    }
    for ours, theirs in defaults.values():
        group = theirs.defaults
        for key, value in ours.hyperparameters.items():
            assert tuple(group[key]) == value if key == "betas" else group[key] == value, key


def test_newton_solves_a_quadratic_in_one_step():
    surface = ll.surface("stretched_bowl", condition=50)
    trajectory = ll.descend(surface, optim.newton(), [4.0, -3.0], 5)
    torch.testing.assert_close(trajectory.params[1], torch.zeros(2, dtype=torch.float64))
    assert trajectory.status == "converged" and trajectory.stopped_at == 1


def test_newton_damping_shortens_the_step():
    surface = ll.surface("bowl")  # H = 2I, so the damped step is 2 / (2 + d) of the full one
    trajectory = ll.descend(surface, optim.newton(damping=2.0), [4.0, -2.0], 1, tol=0)
    torch.testing.assert_close(trajectory.params[1], torch.tensor([2.0, -1.0], dtype=torch.float64))


def test_newton_is_attracted_to_the_saddle():
    trajectory = ll.descend(ll.surface("saddle"), optim.newton(), [0.3, -0.2], 3)
    torch.testing.assert_close(trajectory.params[1], torch.zeros(2, dtype=torch.float64))


def test_sgd_noise_is_gd_plus_seeded_gaussian_noise():
    surface = ll.surface("himmelblau")
    clean = ll.descend(surface, optim.gd(0.01), [0.0, 0.0], 50, tol=0)
    silent = ll.descend(surface, optim.sgd_noise(0.01, noise=0.0, seed=3), [0.0, 0.0], 50, tol=0)
    torch.testing.assert_close(silent.params, clean.params)
    a = ll.descend(surface, optim.sgd_noise(0.01, noise=5.0, seed=1), [0.0, 0.0], 50, tol=0)
    b = ll.descend(surface, optim.sgd_noise(0.01, noise=5.0, seed=1), [0.0, 0.0], 50, tol=0)
    c = ll.descend(surface, optim.sgd_noise(0.01, noise=5.0, seed=2), [0.0, 0.0], 50, tol=0)
    assert torch.equal(a.params, b.params)
    assert not torch.allclose(a.params, c.params)
    # One step by hand: x1 = x0 - lr * (g + noise * z), so z must look standard normal-ish.
    _, g0 = surface.value_and_grad(torch.zeros(1, 2, dtype=torch.float64))
    z = (-(a.params[1] - a.params[0]) / 0.01 - g0[0]) / 5.0
    assert z.abs().max() < 6


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (optim.gd, {"lr": -0.1}, "lr == -0.1, must be a finite number in (0, 1e+06]."),
        (optim.gd, {"lr": 1e308}, "lr == 1e+308, must be a finite number in (0, 1e+06]."),
        (optim.adam, {"lr": 1e7}, "lr == 10000000.0, must be a finite number in (0, 1e+06]."),
        (optim.gd, {"lr": 0}, "lr == 0"),
        (
            optim.momentum,
            {"lr": 0.1, "beta": 1.0},
            "beta == 1.0, must be a finite number in [0, 1).",
        ),
        (optim.newton, {"damping": -1.0}, "damping == -1.0"),
        (optim.sgd_noise, {"lr": 0.1, "noise": -1.0}, "noise == -1.0"),
        (optim.sgd_noise, {"lr": 0.1, "seed": 1.5}, "seed == 1.5"),
        (optim.adam, {"betas": (0.9,)}, "betas"),
        (optim.rmsprop, {"alpha": 2.0}, "alpha == 2.0"),
    ],
)
def test_bad_hyperparameters_name_the_parameter(factory, kwargs, message):
    with pytest.raises(ll.LosslabError, match=re.escape(message)):
        factory(**kwargs)


def test_specs_parse_names_and_hyperparameters():
    momentum = optim.from_spec("momentum:beta=0.8", lr=0.01)
    assert momentum.hyperparameters == {"lr": 0.01, "beta": 0.8}
    assert optim.from_spec("newton", lr=0.01).hyperparameters["lr"] == 1.0
    assert optim.from_spec("adam:beta1=0.5", lr=0.1).hyperparameters["betas"] == (0.5, 0.999)
    assert optim.from_spec("sgd_noise:noise=2,seed=7", lr=0.1).hyperparameters["seed"] == 7
    for bad in ["sgdd", "momentum:bta=0.8", "momentum:beta", "momentum:beta=fast", "gd"]:
        with pytest.raises(ll.LosslabError):
            optim.from_spec(bad)
    assert set(optim.names()) == {
        "gd",
        "momentum",
        "nesterov",
        "newton",
        "sgd_noise",
        "adagrad",
        "rmsprop",
        "adam",
    }


def test_transforms_do_not_mutate_their_inputs():
    params = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    grads = torch.tensor([[0.5, -0.5]], dtype=torch.float64)
    for name in ["momentum", "nesterov", "adagrad", "rmsprop", "adam"]:
        opt = optim.get(name, lr=0.1)
        state = opt.init(params)
        before = [s.clone() if isinstance(s, torch.Tensor) else s for s in _flatten(state)]
        opt.update(grads, state, params)
        after = _flatten(state)
        for x, y in zip(before, after, strict=True):
            assert torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y
        assert torch.equal(grads, torch.tensor([[0.5, -0.5]], dtype=torch.float64))


def _flatten(state):
    if isinstance(state, tuple):
        return [leaf for item in state for leaf in _flatten(item)]
    return [state]


def test_states_are_named_tuples_that_say_what_they_hold():
    # optax style: Adam's state is ScaleByAdamState(count, mu, nu), and after one step mu and
    # nu are torch.optim.Adam's exp_avg and exp_avg_sq.
    from losslab.optim import transforms

    params = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    grads = torch.tensor([[0.5, -0.5]], dtype=torch.float64)
    adam = optim.adam(0.1)
    _, (inner, scaled) = adam.update(grads, adam.init(params), params)
    assert isinstance(inner, transforms.ScaleByAdamState) and inner._fields == ("count", "mu", "nu")
    assert isinstance(scaled, transforms.EmptyState)
    leaf = params[0].clone().requires_grad_(True)
    theirs = torch.optim.Adam([leaf], lr=0.1)
    leaf.grad = grads[0].clone()
    theirs.step()
    torch_state = theirs.state[leaf]
    assert inner.count == 1
    torch.testing.assert_close(inner.mu[0], torch_state["exp_avg"])
    torch.testing.assert_close(inner.nu[0], torch_state["exp_avg_sq"])
    expected = {
        "momentum": (transforms.TraceState, ("trace",)),
        "adagrad": (transforms.ScaleByAdagradState, ("sum_of_squares",)),
        "rmsprop": (transforms.ScaleByRmsState, ("nu",)),
        "sgd_noise": (transforms.AddNoiseState, ("count",)),
        "newton": (transforms.EmptyState, ()),
    }
    for name, (kind, fields) in expected.items():
        first, _ = optim.get(name, lr=0.1).init(params)
        assert isinstance(first, kind) and first._fields == fields, name
