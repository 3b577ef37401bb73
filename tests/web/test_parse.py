"""Server-side validation: whatever JSON a browser sends, the answer is a value or a
LosslabError with a readable message."""

import math

import pytest

from losslab.errors import ExpressionError, LosslabError
from losslab.web import parse


@pytest.mark.parametrize("value", [None, "abc", [], {}, True, math.nan, math.inf, 11, -1])
def test_number_refuses_anything_but_a_finite_number_in_range(value):
    with pytest.raises(LosslabError, match=r"steps == .*must be a number in \[0, 10\]"):
        parse.number(value, "steps", low=0, high=10)


def test_number_and_integer_accept_typed_text():
    assert parse.number(" 2.5 ", "lr", low=0, high=10) == 2.5
    assert parse.integer("7", "steps", low=1, high=10) == 7
    assert parse.integer(3.0, "steps", low=1, high=10) == 3
    with pytest.raises(LosslabError, match="whole number"):
        parse.integer(2.5, "steps", low=1, high=10)
    with pytest.raises(LosslabError, match="whole number"):
        parse.integer(10**9, "steps", low=1, high=10)


def test_log_rate_reads_a_log_slider_to_three_digits():
    assert parse.log_rate(-1.0458, low=-5, high=1) == 0.09
    assert parse.log_rate(0, low=-5, high=1) == 1.0
    with pytest.raises(LosslabError, match="log10 learning rate"):
        parse.log_rate(5, low=-5, high=1)


def test_choice_flag_seed_and_optimizers():
    assert parse.choice("3d", "view", ["contour", "3d"]) == "3d"
    with pytest.raises(LosslabError, match="choose one of contour, 3d"):
        parse.choice("4d", "view", ["contour", "3d"])
    assert parse.flag(["on"]) and not parse.flag([]) and not parse.flag("on")
    assert parse.seed("12") == 12
    with pytest.raises(LosslabError):
        parse.seed(-1)
    assert parse.optimizers(["gd", "newton", "gd"]) == ["gd", "newton"]
    with pytest.raises(LosslabError, match="tick at least one"):
        parse.optimizers([])
    with pytest.raises(LosslabError, match="choose one of"):
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
    with pytest.raises(LosslabError, match="choose one of"):
        parse.pick_surface("double_well", None)  # 1-D: not on a 2-D page's menu
    with pytest.raises(LosslabError, match="needs a surface in x and y"):
        parse.pick_surface(parse.EXPRESSION, "x**2")
    with pytest.raises(LosslabError, match="empty"):
        parse.surface_from_text("   ")


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
