"""Surfaces: values, closed-form derivatives, known minima, window and input handling."""

import math

import pytest
import torch

import losslab as ll


def test_every_builtin_is_listed_and_well_formed():
    names = ll.surfaces()
    assert names[:2] == ["double_well", "parabola"]
    assert {
        "bowl",
        "stretched_bowl",
        "rosenbrock",
        "saddle",
        "monkey_saddle",
        "himmelblau",
        "beale",
        "booth",
        "three_hump_camel",
        "six_hump_camel",
        "rastrigin",
        "ackley",
        "plateau",
    } <= set(names)
    for name in names:
        surface = ll.surface(name)
        assert surface.name == name and surface.n_params in (1, 2) and surface.description
        assert surface.bounds.shape == (surface.n_params, 2)
        assert surface.minima.shape[1:] == (surface.n_params,)
        inside = (surface.minima >= surface.bounds[:, 0]) & (surface.minima <= surface.bounds[:, 1])
        assert inside.all(), name


@pytest.mark.parametrize("name", [n for n in ll.surfaces() if n != "ackley"])
def test_known_minima_are_true_minima(name):
    surface = ll.surface(name)
    for point in surface.minima:
        result = ll.inspect(surface, point)
        assert result.kind == "minimum", (name, point, result.eigenvalues)
        assert result.gradient.norm() < 1e-8


def test_known_values():
    assert ll.surface("himmelblau")([0.0, 0.0]).item() == 170.0
    assert ll.surface("rosenbrock")([1.0, 1.0]).item() == 0.0
    assert ll.surface("beale")([3.0, 0.5]).item() == 0.0
    assert ll.surface("ackley")([0.0, 0.0]).item() == pytest.approx(0.0, abs=1e-12)
    assert ll.surface("rastrigin")([0.0, 0.0]).item() == 0.0
    six = ll.surface("six_hump_camel")
    assert six(six.minima).min().item() == pytest.approx(-1.031628453, abs=1e-9)
    well = ll.surface("double_well")
    deep, shallow = well.minima[:, 0].tolist()
    assert deep == pytest.approx(-1.3, abs=0.05) and shallow == pytest.approx(1.3, abs=0.05)
    assert well(well.minima[0]) < well(well.minima[1])  # the left minimum is the deeper one


def test_quadratics_have_closed_form_gradients_and_hessians():
    points = torch.tensor([[1.0, 2.0], [-3.0, 0.5]], dtype=torch.float64)
    cases = {
        "bowl": (lambda p: 2 * p, torch.diag(torch.tensor([2.0, 2.0]))),
        "saddle": (
            lambda p: torch.stack([2 * p[:, 0], -2 * p[:, 1]], 1),
            torch.diag(torch.tensor([2.0, -2.0])),
        ),
        "stretched_bowl:condition=25": (
            lambda p: torch.stack([2 * p[:, 0], 50 * p[:, 1]], 1),
            torch.diag(torch.tensor([2.0, 50.0])),
        ),
        "booth": (
            lambda p: torch.stack(
                [10 * p[:, 0] + 8 * p[:, 1] - 34, 8 * p[:, 0] + 10 * p[:, 1] - 38], 1
            ),
            torch.tensor([[10.0, 8.0], [8.0, 10.0]]),
        ),
    }
    for name, (gradient, hessian) in cases.items():
        surface = ll.surface(name)
        _, grads = surface.value_and_grad(points)
        torch.testing.assert_close(grads, gradient(points))
        torch.testing.assert_close(
            surface.hessian(points), hessian.to(torch.float64).expand(2, 2, 2)
        )


def test_batched_calls_keep_the_leading_shape_and_dtype():
    surface = ll.surface("rosenbrock")
    assert surface(torch.zeros(5, 7, 2)).shape == (5, 7)
    assert surface(torch.zeros(3, 2, dtype=torch.float32)).dtype == torch.float32
    assert surface([[0, 0]]).dtype == torch.float64  # integers and lists compute in float64
    with pytest.raises(ll.LosslabError, match="n_params == 2"):
        surface(torch.zeros(4, 3))


def test_stretched_bowl_condition_number():
    surface = ll.surface("stretched_bowl", condition=40)
    eigenvalues = ll.inspect(surface, [0.0, 0.0]).eigenvalues
    assert (eigenvalues.max() / eigenvalues.min()).item() == pytest.approx(40.0)
    assert ll.surface("stretched_bowl:condition=40").hyperparameters == {"condition": 40.0}
    with pytest.raises(ll.LosslabError, match="condition == 0.5"):
        ll.surface("stretched_bowl", condition=0.5)
    with pytest.raises(ll.LosslabError, match="no hyperparameter 'kappa'"):
        ll.surface("stretched_bowl", kappa=3)


def test_a_cached_surface_cannot_be_poisoned_through_its_hyperparameters():
    # Built-ins are cached: the same object is handed to every caller. Editing one caller's
    # hyperparameters used to change what every later caller was told (99) while the formula
    # still computed with the default (10).
    first = ll.surface("stretched_bowl")
    with pytest.raises(TypeError):
        first.hyperparameters["condition"] = 99
    given = {"condition": 3.0}
    own = ll.objectives.Surface("own", 2, lambda x, y: x**2 + 3 * y**2, hyperparameters=given)
    given["condition"] = 99.0  # the caller's dict is copied, not shared
    assert own.hyperparameters == {"condition": 3.0}
    again = ll.surface("stretched_bowl")
    assert again.hyperparameters == {"condition": 10.0}
    assert float(again([0.0, 1.0])) == 10.0


def test_plateau_is_flat_far_from_its_well():
    surface = ll.surface("plateau")
    _, grads = surface.value_and_grad(torch.tensor([[-5.0, -5.0], [1.5, 0.5]], dtype=torch.float64))
    assert grads[0].norm() < 1e-6 < 0.1 < grads[1].norm()


def test_expressions_become_surfaces():
    surface = ll.surface("x**2 + 10*y**2")
    assert surface.n_params == 2 and surface.name == "x**2 + 10*y**2"
    assert surface([1.0, 1.0]).item() == 11.0
    assert ll.surface("sin(x)").n_params == 1
    assert ll.surface("sin(x)")([math.pi / 2]).item() == pytest.approx(1.0)
    with pytest.raises(ll.ExpressionError):
        ll.surface("__import__('os')")
    with pytest.raises(ll.LosslabError):
        ll.surface("")


@pytest.mark.parametrize(
    "name", ["himmelblau", "rosenbrock", "six_hump_camel", "ackley", "double_well", "monkey_saddle"]
)
def test_fast_derivatives_equal_torch_func(name):
    """Surface overrides the torch.func route with batched autograd; both must agree."""
    from losslab.objectives.base import Objective

    surface = ll.surface(name)
    points = torch.rand(6, surface.n_params, dtype=torch.float64) * 3 - 1.5
    values, grads = surface.value_and_grad(points)
    ref_values, ref_grads = Objective.value_and_grad(surface, points)
    torch.testing.assert_close(values, ref_values)
    torch.testing.assert_close(grads, ref_grads)
    torch.testing.assert_close(surface.hessian(points), Objective.hessian(surface, points))


@pytest.mark.parametrize("text", ["3*x + y", "x", "2 + 0*x"])
def test_linear_and_constant_surfaces_have_a_zero_hessian(text):
    surface = ll.surface(text)
    points = torch.randn(5, surface.n_params, dtype=torch.float64)
    hessian = surface.hessian(points)
    assert hessian.shape == (5, surface.n_params, surface.n_params)
    assert torch.equal(hessian, torch.zeros_like(hessian))


def test_a_misspelled_surface_name_suggests_the_closest_built_in():
    with pytest.raises(ll.LosslabError, match="unknown surface 'rosenbrok'.*'rosenbrock'"):
        ll.surface("rosenbrok")
    with pytest.raises(ll.LosslabError, match="himmelblau"):  # the list of built-ins
        ll.surface("nosuchthing")
