"""Hostile surface texts, through `ll.surface` (where a name with ":options" is told apart
from an expression) and the safe parser: each is refused with an ExpressionError whose one-line
message names the offending token, and none runs any code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losslab as ll
from losslab.errors import ExpressionError
from losslab.objectives.expression import parse_expression

# text -> what the message must name. Many hold a ':' that used to make the text a "name".
HOSTILE = {
    "(z := x)": "walrus assignment ':='",
    "(x := 1) + x": "walrus assignment ':='",
    "lambda: x": "lambda 'lambda: x'",
    "lambda x: x**2": "lambda",
    "(lambda: __import__('os'))()": 'calling "lambda: __import__(',
    "exp(**{'x': 1})": "'**' unpacking in exp(...)",
    "x + {**{'a': 1}}": "dict unpacking '**'",
    "{'a': x}": "dict",
    "x[::1]": "subscript 'x[::1]'",
    "x[1:2]": "subscript 'x[1:2]'",
    "x[:, None]": "subscript",
    "f'{x:>10}'": "f-string",
    "[y for y in range(9**9)]": "comprehension",
    "x if x else y": "conditional",
    "__import__('os').system('touch /tmp/owned')": "attribute access '.system'",
    "().__class__.__bases__[0].__subclasses__()": "attribute access '.__subclasses__'",
    "getattr(x, 'real')": "function 'getattr' is not allowed",
    "x.__class__": "attribute access '.__class__'",
    "x:y": "near ':'",
    "x: x**2": "near ':'",
    "foo:(z:=1)": "near ':'",
    "sin(x):cos(y)": "near ':'",
    "x;import os": "near ';'",
    "import os": "near 'import'",
    "x = 1": "near '='",
    "yield x": "near 'yield'",
    "x\n:1": "at line 2, column 1, near ':'",
    "lambda": "cannot parse expression 'lambda'",
    "True": "constant 'True'",
    "None:x=1": "column 5, near ':'",  # a keyword is never a surface name
}


@pytest.mark.parametrize(("text", "token"), HOSTILE.items())
def test_hostile_text_is_refused_naming_its_token(text, token):
    for parse in (ll.surface, parse_expression):
        with pytest.raises(ExpressionError) as info:
            parse(text)
        message = str(info.value)
        assert token in message, message
        assert "\n" not in message
        assert "unknown surface" not in message


def test_no_hostile_text_runs_code(no_code_runs, tmp_path):
    marker = tmp_path / "owned"
    for text in [*HOSTILE, f"__import__('pathlib').Path({str(marker)!r}).touch()"]:
        with pytest.raises(ExpressionError):
            ll.surface(text)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stretched_bowl:condition=25", {"condition": 25.0}),
        (" stretched_bowl : condition = 4 ", {"condition": 4.0}),
        ("stretched_bowl:", {"condition": 10.0}),
        ("himmelblau", {}),
    ],
)
def test_built_in_names_with_options_still_read_as_names(text, expected):
    assert dict(ll.surface(text).hyperparameters) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("rosenbrok", "unknown surface 'rosenbrok'"),
        ("bowll:condition=3", "unknown surface 'bowll'"),
        ("bowll:condition=3", "Hyperparameters apply only to built-ins"),
        ("stretched_bowl:condition=abc", "cannot read 'condition=abc'"),
        ("stretched_bowl:(z:=1)", "cannot read '(z:=1)'"),  # a built-in's options are its own
    ],
)
def test_names_and_their_options_are_refused_as_names(text, phrase):
    with pytest.raises(ll.LosslabError) as info:
        ll.surface(text)
    assert not isinstance(info.value, ExpressionError)
    assert phrase in str(info.value)


def test_hyperparameters_on_an_expression_name_the_expression():
    with pytest.raises(ll.LosslabError, match=r"condition apply only to built-in .* 'x\*\*2'"):
        ll.surface("x**2", condition=3)


NAME = st.sampled_from(["x", "y", "sin(x)", "bowl", "foo", "lambda", "(z", "{1", "x["])
REST = st.text(alphabet="xyz:=()[]{}*,.'0123456789 +-lambda", max_size=30)


@given(head=NAME, rest=REST)
@settings(max_examples=300, deadline=None)
def test_any_text_with_a_colon_is_a_surface_or_one_line_error(head, rest):
    """A ':' anywhere never turns an expression into a misread name: either the text names a
    surface (a built-in, or a plain word with key=value options) or the parser answers."""
    text = f"{head}:{rest}"
    try:
        surface = ll.surface(text)
    except ll.LosslabError as error:
        message = str(error)
        assert "\n" not in message
        if message.startswith("unknown surface"):  # only a plain word is read as a name
            name = message.split("'")[1]
            assert name.isidentifier() and text.partition(":")[0].strip() == name
        return
    assert surface.name in ll.surfaces()
