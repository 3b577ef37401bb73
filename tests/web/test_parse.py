"""Server-side validation: whatever JSON a browser sends, the answer is a value or a
LosslabError with a readable message."""

import math

import pytest
import torch

from losslab.errors import ExpressionError, LosslabError
from losslab.web import parse


@pytest.mark.parametrize("value", [None, "abc", [], {}, True, math.nan, math.inf, 11, -1])
def test_number_refuses_anything_but_a_finite_number_in_range(value):
    with pytest.raises(LosslabError, match=r"^Steps must be a number from 0 to 10; got "):
        parse.number(value, "steps", low=0, high=10)


def test_number_and_integer_accept_typed_text():
    assert parse.number(" 2.5 ", "lr", low=0, high=10) == 2.5
    assert parse.integer("7", "steps", low=1, high=10) == 7
    assert parse.integer(3.0, "steps", low=1, high=10) == 3
    with pytest.raises(LosslabError, match="whole number"):
        parse.integer(2.5, "steps", low=1, high=10)
    with pytest.raises(LosslabError, match="whole number"):
        parse.integer(10**9, "steps", low=1, high=10)


def test_errors_quote_what_was_typed_not_internals():
    """The message names the field, the rule and what the learner typed (issue 13)."""
    cases = [
        ("abc", "Steps must be a whole number from 1 to 1000; got 'abc'."),
        ("  ", "Steps must be a whole number from 1 to 1000; got nothing."),
        (None, "Steps must be a whole number from 1 to 1000; got nothing."),
        ("2.5", "Steps must be a whole number from 1 to 1000; got '2.5'."),
        (5000, "Steps must be a whole number from 1 to 1000; got 5000."),
    ]
    for typed, text in cases:
        with pytest.raises(LosslabError) as caught:
            parse.integer(typed, "steps", low=1, high=1000)
        assert str(caught.value) == text
        assert "==" not in str(caught.value) and "None" not in str(caught.value)
    assert parse.integer(" 12 ", "steps", low=1, high=1000) == 12
    assert parse.integer("1e2", "steps", low=1, high=1000) == 100


def test_log_rate_reads_a_log_slider_to_three_digits():
    assert parse.log_rate(-1.0458, low=-5, high=1) == 0.09
    assert parse.log_rate(0, low=-5, high=1) == 1.0
    with pytest.raises(
        LosslabError, match="Log10 learning rate must be a number from -5 to 1; got 5"
    ):
        parse.log_rate(5, low=-5, high=1)


def test_choice_flag_seed_and_optimizers():
    assert parse.choice("3d", "view", ["contour", "3d"]) == "3d"
    with pytest.raises(LosslabError, match="View must be one of contour, 3d; got '4d'"):
        parse.choice("4d", "view", ["contour", "3d"])
    assert parse.flag(["on"]) and not parse.flag([]) and not parse.flag("on")
    assert parse.seed("12") == 12
    with pytest.raises(LosslabError):
        parse.seed(-1)
    assert parse.optimizers(["gd", "newton", "gd"]) == ["gd", "newton"]
    with pytest.raises(LosslabError, match="tick at least one"):
        parse.optimizers([])
    with pytest.raises(LosslabError, match="must be one of"):
        parse.optimizers(["gd", "__import__"])
    with pytest.raises(LosslabError, match="list of names"):
        parse.optimizers("gd")


def test_point_reads_a_click():
    assert parse.point({"x": 1, "y": -2.5, "at": 3}, 2) == (1.0, -2.5)
    assert parse.point({"x": 0.5}, 1) == (0.5,)
    for bad in (None, [1, 2], {"x": 1}, {"x": "nan", "y": 0}, {"x": 1e300, "y": 0}):
        with pytest.raises(LosslabError):
            parse.point(bad, 2)


def test_pick_surface_builtin_or_expression():
    surface, text = parse.pick_surface("himmelblau", None)
    assert surface.name == "himmelblau" and text == "himmelblau"
    surface, text = parse.pick_surface(parse.EXPRESSION, " x**2 + 3*y**2 ")
    assert surface.n_params == 2 and text == "x**2 + 3*y**2"
    with pytest.raises(LosslabError, match="must be one of"):
        parse.pick_surface("double_well", None)  # 1-D: not on a 2-D page's menu
    with pytest.raises(LosslabError, match="needs a surface in x and y"):
        parse.pick_surface(parse.EXPRESSION, "double_well")  # a 1-D built-in, typed
    with pytest.raises(LosslabError, match="empty"):
        parse.surface_from_text("   ")


@pytest.mark.parametrize(
    ("text", "missing", "point", "value", "grad"),
    [
        ("x**2", "y", (3.0, -2.0), 9.0, (6.0, 0.0)),
        ("y**2", "x", (3.0, -2.0), 4.0, (0.0, -4.0)),
        ("2.5", "x or y", (3.0, -2.0), 2.5, (0.0, 0.0)),
    ],
)
def test_a_one_variable_formula_is_a_surface_constant_along_the_other(
    text, missing, point, value, grad
):
    """x**2 on a 2-D page: f(x, y) = x**2 for every y, and the description says so."""
    surface, stored = parse.pick_surface(parse.EXPRESSION, text)
    assert surface.n_params == 2 and stored == text
    points = torch.tensor([point, (point[0], 7.0)], dtype=torch.float64)
    values, grads = surface.value_and_grad(points)
    assert values[0].item() == value and grads[0].tolist() == list(grad)
    if "x" not in missing:  # constant along y: the same value at another y
        assert values[1].item() == value
    note = parse.one_variable_note(surface)
    assert note == f"{text} does not depend on {missing}: shown as a surface constant along " + (
        missing.replace(" or ", " and ") + "."
    )
    assert parse.one_variable_note(parse.surface_from_text("x*y")) == ""


def test_an_expression_over_the_limit_is_refused_with_its_length():
    with pytest.raises(LosslabError, match="is 501 characters long; the limit is 500"):
        parse.surface_from_text("x" + " + x" * 125)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "x.__class__",
        "(lambda: 1)()",
        "[c for c in ().__class__.__bases__]",
        "open('/etc/passwd')",
        "x+" * 300 + "x",
    ],
)
def test_unsafe_expressions_are_refused_by_the_library_parser(text):
    with pytest.raises(LosslabError):  # ExpressionError, or 'unknown surface' for a bare name
        parse.surface_from_text(text)
    if ":" not in text:  # "name:key=value" is the built-in options syntax, refused apart
        with pytest.raises(ExpressionError):
            parse.surface_from_text(f"x + y + {text}")


def test_stored_surface_refuses_a_damaged_store():
    assert parse.stored_surface("rosenbrock").name == "rosenbrock"
    with pytest.raises(LosslabError, match="damaged"):
        parse.stored_surface({"fn": "evil"})
