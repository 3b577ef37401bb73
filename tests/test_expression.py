"""Typed expressions: values and derivatives, agreement with Python, and refusal of the rest."""

import ast
import math
import time

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.func import grad, hessian, vmap

from losslab.errors import ExpressionError, LosslabError
from losslab.objectives.expression import (
    MAX_CONSTANT,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_NODES,
    Expression,
    parse_expression,
)

F64 = torch.float64
FUNCTIONS = {
    "abs",
    "cos",
    "exp",
    "log",
    "max",
    "min",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "tan",
    "tanh",
}


def t(value) -> torch.Tensor:
    return torch.tensor(value, dtype=F64)


# --- values, derivatives, shapes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "x", "y", "expected"),
    [
        ("x**2 + 10*y**2", 1.5, -2.0, 1.5**2 + 10 * 4.0),
        (
            "sin(x)*cos(y) + 0.1*(x**2+y**2)",
            0.3,
            0.7,
            math.sin(0.3) * math.cos(0.7) + 0.1 * (0.3**2 + 0.7**2),
        ),
        ("-x**2", 3.0, 0.0, -9.0),  # ** binds tighter than unary minus, as in Python
        ("2**3**2", 0.0, 0.0, 512.0),  # ** is right-associative
        ("x - y - 1", 5.0, 2.0, 2.0),
        ("x**-1 + x**0.5 + x**(1/2)", 4.0, 0.0, 0.25 + 2.0 + 2.0),
        (
            "exp(x) + log(x) + sqrt(x) + tan(x) + tanh(x)",
            0.5,
            0.0,
            math.exp(0.5) + math.log(0.5) + math.sqrt(0.5) + math.tan(0.5) + math.tanh(0.5),
        ),
        (
            "abs(x) + relu(x) + sigmoid(x) + softplus(x)",
            -1.0,
            0.0,
            1.0 + 0.0 + 1 / (1 + math.e) + math.log1p(math.exp(-1.0)),
        ),
        ("min(x, y) + max(x, 2)", 1.0, -3.0, -3.0 + 2.0),
        ("pi*e + 1e-3", 0.0, 0.0, math.pi * math.e + 1e-3),
        ("9**9", 0.0, 0.0, 387420489.0),
    ],
)
def test_known_values(text, x, y, expected):
    expr = parse_expression(text)
    coords = (t(x), t(y))[: expr.n_params]
    assert expr(*coords).item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_gradient_under_torch_func():
    expr = parse_expression("x**2 + 3*x*y")
    gx, gy = grad(expr, argnums=(0, 1))(t(1.0), t(2.0))
    assert (gx.item(), gy.item()) == (8.0, 3.0)


@pytest.mark.parametrize(
    ("text", "closed_form"),
    [
        ("x**2 + 10*y**2", lambda x, y: [[2.0, 0.0], [0.0, 20.0]]),
        (
            "sin(x)*cos(y) + 0.1*(x**2+y**2)",
            lambda x, y: [
                [-math.sin(x) * math.cos(y) + 0.2, -math.cos(x) * math.sin(y)],
                [-math.cos(x) * math.sin(y), -math.sin(x) * math.cos(y) + 0.2],
            ],
        ),
        (
            "exp(x*y)",
            lambda x, y: [
                [y * y * math.exp(x * y), (1 + x * y) * math.exp(x * y)],
                [(1 + x * y) * math.exp(x * y), x * x * math.exp(x * y)],
            ],
        ),
    ],
)
def test_hessian_matches_closed_form(text, closed_form):
    expr = parse_expression(text)
    point = t([0.4, -1.3])
    h = hessian(lambda p: expr(p[0], p[1]))(point)
    torch.testing.assert_close(h, t(closed_form(0.4, -1.3)), rtol=1e-12, atol=1e-12)


def test_one_dimensional_derivatives():
    expr = parse_expression("x**4 - 2*x**2")
    x = t(1.7)
    assert grad(expr)(x).item() == pytest.approx(4 * 1.7**3 - 4 * 1.7, rel=1e-12)
    assert grad(grad(expr))(x).item() == pytest.approx(12 * 1.7**2 - 4, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "variables", "n_params"),
    [
        ("x**2", ("x",), 1),
        ("x*y", ("x", "y"), 2),
        ("y*x", ("x", "y"), 2),
        ("sin(y)", ("y",), 2),  # y is the second coordinate, so y alone is still 2-D
        ("0*y + 1", ("y",), 2),
        ("2*pi", (), 1),
        ("  e  ", (), 1),
    ],
)
def test_variables_and_n_params(text, variables, n_params):
    expr = parse_expression(text)
    assert (expr.variables, expr.n_params, expr.text) == (variables, n_params, text.strip())


def test_shapes_broadcast_and_dtype_follows_the_inputs():
    x, y = torch.linspace(-1, 1, 3, dtype=F64).reshape(3, 1), torch.linspace(0, 1, 4, dtype=F64)
    assert parse_expression("x*y + 1").__call__(x, y).shape == (3, 4)
    assert parse_expression("sin(y)")(x, y).shape == (3, 4)  # y alone still spans x's axis
    assert parse_expression("3")(torch.zeros(2, 5)).tolist() == [[3.0] * 5] * 2
    single = torch.ones(2, 3, dtype=torch.float32)
    for text in ("sin(x) + 0.1*y", "min(x, 2) + max(1e-3, y)", "y**2"):
        assert parse_expression(text)(single, single).dtype == torch.float32
    assert parse_expression("x + 1")(torch.tensor([1, 2])).dtype == F64  # ints compute in f64


def test_result_is_never_an_input():
    x = t([1.0, 2.0])
    out = parse_expression("x")(x)
    out += 1
    assert x.tolist() == [1.0, 2.0]


def test_constant_is_one_value_per_point_with_zero_gradient():
    x = t([0.0, 1.0, 2.0]).requires_grad_(True)
    out = parse_expression("2*pi")(x)
    assert out.tolist() == [2 * math.pi] * 3
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert grad(parse_expression("5"))(t(1.0)).item() == 0.0


def test_vmap():
    expr = parse_expression("x**2 + 3*x*y + min(x, y)")
    xs, ys = t([0.0, 1.0, 2.0]), t([1.0, 2.0, 0.5])
    torch.testing.assert_close(vmap(expr)(xs, ys), expr(xs, ys))
    grads = vmap(grad(expr, argnums=(0, 1)))(xs, ys)
    torch.testing.assert_close(grads[0], 2 * xs + 3 * ys + (xs < ys).to(F64))
    assert vmap(parse_expression("7"))(xs).tolist() == [7.0] * 3


def test_integer_powers_are_exact():
    x = torch.randn(1000, dtype=F64)
    assert torch.equal(parse_expression("x**2")(x), x * x)
    assert torch.equal(parse_expression("x**-1")(x), 1 / x)
    assert torch.equal(parse_expression("x**1")(x), x)


def test_wrong_number_of_coordinates():
    with pytest.raises(ExpressionError, match="takes 2 coordinate"):
        parse_expression("x*y")(t(1.0))
    with pytest.raises(ExpressionError, match="takes 1 coordinate"):
        parse_expression("x")(t(1.0), t(2.0))


def test_equal_texts_give_equal_expressions():
    assert parse_expression("x + y") == parse_expression(" x + y ")
    assert hash(parse_expression("x")) == hash(parse_expression("x"))


def test_text_is_never_compiled_to_code(no_code_runs):
    # The whole point of the module: user text may become a syntax tree, never code.
    parse_expression("sin(x)*cos(y) + 0.1*(x**2 + y**2)")(t(1.0), t(2.0))
    with pytest.raises(ExpressionError):
        parse_expression("__import__('os').system('echo owned')")


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("__import__('os')", "'__import__'"),
        ("__import__('os').system('ls')", "'.system'"),
        ("x.real", "attribute access '.real'"),
        ("math.sin(x)", "'.sin'"),
        ("open('f')", "function 'open' is not allowed"),
        ("x[0]", "subscript 'x[0]'"),
        ("lambda: 1", "lambda"),
        ("x if y else 1", "conditional 'x if y else 1'"),
        ("x < y", "comparison 'x < y'"),
        ("x and y", "'and'"),
        ("not x", "'not'"),
        ("x % 2", "'%'"),
        ("'a'", "string 'a'"),
        ("b'a'", "bytes"),
        ("1j", "imaginary number '1j'"),
        ("True", "'True'"),
        ("[x, y]", "list"),
        ("(x := 1)", "assignment"),
        ("f'{x}'", "f-string"),
        ("x ^ 2", "**"),
        ("x**y", "must be a number"),
        ("2**x", "must be a number"),
        ("x**1000", "exponent 1000"),
        ("x**16.5", "exponent 16.5"),
        ("x**(1/0)", "exponent inf"),
        (
            "2**2**2**2**2",
            "exponent 65536",
        ),  # folded from the top down, refused at the first big one
        ("9**9**9", "exponent 387420489"),
        ("sin(x, y)", "'sin' takes 1 argument, got 2"),
        ("min(x)", "'min' takes 2 arguments, got 1"),
        ("sin(x=1)", "keyword argument 'x='"),
        ("sin(*x)", "starred argument '*x'"),
        ("sin", "'sin' needs an argument"),
        ("x(2)", "'x', which is not a function"),
        ("z + 1", "unknown name 'z'"),
        ("", "empty expression"),
        ("  \n ", "empty expression"),
        ("x+" * 300, "600 characters"),
        ("(" * 100 + "x" + ")" * 100, f"more than {MAX_DEPTH} deep"),
        ("[" * 60, f"more than {MAX_DEPTH} deep"),
        ("-" * 45 + "x", f"more than {MAX_DEPTH} levels"),
        ("-" * 400 + "x", f"the limit is {MAX_NODES}"),
        ("1e999*x", "number '1e999' is too large"),
        ("10000000000000000000000*x", "too large"),
        ("x +", "cannot parse expression 'x +'"),
        ("x +* 2", "at column 4"),
        ("sin(x", "cannot parse"),
        ("x\x00", "cannot parse"),
    ],
)
def test_refusals_name_the_culprit(text, culprit):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    message = str(info.value)
    assert culprit in message
    assert "\n" not in message and isinstance(info.value, LosslabError)


def test_messages_from_the_brief():
    with pytest.raises(ExpressionError, match=r"^unknown name 'z' in expression: use x, y, pi, e"):
        parse_expression("z + 1")
    with pytest.raises(
        ExpressionError,
        match=r"^function 'open' is not allowed: use one of abs, "
        r"cos, exp, log, max, min, relu, sigmoid, sin, "
        r"softplus, sqrt, tan, tanh",
    ):
        parse_expression("open('f')")
    with pytest.raises(ExpressionError, match=str(MAX_LENGTH)):
        parse_expression("x+" * 300)
    with pytest.raises(ExpressionError, match=str(MAX_EXPONENT)):
        parse_expression("x**1000")


def test_limits_are_inclusive():
    assert parse_expression("x" + " " * (MAX_LENGTH - 3) + "+1").n_params == 1
    with pytest.raises(ExpressionError, match=f"{MAX_LENGTH + 1} characters"):
        parse_expression("x" + " " * (MAX_LENGTH - 2) + "+1")
    assert parse_expression("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH).n_params == 1
    assert parse_expression("-" * (MAX_DEPTH - 1) + "x")(t(1.0)).item() == -1.0
    assert parse_expression(f"x**{MAX_EXPONENT} + x**-{MAX_EXPONENT}")(t(1.0)).item() == 2.0
    assert parse_expression(f"{MAX_CONSTANT:.0f}*x")(t(1.0)).item() == MAX_CONSTANT
    with pytest.raises(ExpressionError, match="too large"):
        parse_expression(f"{MAX_CONSTANT + 1:.0f}*x")


def test_largest_expressions_stay_cheap_on_a_grid():
    axis = torch.linspace(-3, 3, 400, dtype=F64)
    x, y = torch.meshgrid(axis, axis, indexing="ij")
    tower = "(" * (MAX_DEPTH - 1) + "x" + f"**{MAX_EXPONENT})" * (MAX_DEPTH - 1)
    wide = "+".join(["exp(sin(x)*y)**16"] * 27)
    for text in (tower, wide):
        expr = parse_expression(text)
        start = time.perf_counter()
        values = expr(*(x, y)[: expr.n_params])
        assert values.shape == (400, 400)
        assert time.perf_counter() - start < 2.0


# --- property: agreement with Python's own arithmetic on floats ---------------------------------


def _sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def _nan_min(a: float, b: float) -> float:
    # torch.minimum/maximum propagate nan; the builtins return whichever comes first.
    return math.nan if math.isnan(a) or math.isnan(b) else min(a, b)


def _nan_max(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


ORACLE = {
    "sin": math.sin,
    "cos": math.cos,
    "tanh": math.tanh,
    "abs": abs,
    "sigmoid": _sigmoid,
    "relu": lambda a: max(a, 0.0),
    "softplus": lambda a: a if a > 20 else math.log1p(math.exp(a)),
    "min": _nan_min,
    "max": _nan_max,
    "pi": math.pi,
    "e": math.e,
}
LEAVES = st.sampled_from(
    ["x", "y", "pi", "e", "0", "1", "2", "3", "7", "10", "0.5", "1.5", "0.25", "1e-3"]
)
BINARY = st.sampled_from(["+", "-", "*", "/"])
UNARY_FUNCTIONS = st.sampled_from(["sin", "cos", "tanh", "abs", "sigmoid", "relu", "softplus"])


def expressions(depth: int = 4) -> st.SearchStrategy[str]:
    """Valid texts from the grammar. Depth is bounded so that Python's exact integer powers
    in the oracle, such as ((10**4)**4)**4, stay small."""
    if depth == 0:
        return LEAVES
    inner = expressions(depth - 1)
    powers = st.integers(0, 4)
    return st.one_of(
        LEAVES,
        # Unbracketed on purpose: precedence and associativity must come out as in Python.
        st.builds("{} {} {}".format, inner, BINARY, inner),
        st.builds("({}) {} ({})".format, inner, BINARY, inner),
        st.builds("-{}".format, inner),
        st.builds("{}**{}".format, LEAVES, powers),
        st.builds("({})**{}".format, inner, powers),
        st.builds("{}({})".format, UNARY_FUNCTIONS, inner),
        st.builds("{}({}, {})".format, st.sampled_from(["min", "max"]), inner, inner),
    )


def oracle(text: str, x: float, y: float) -> float:
    try:
        # Python evaluating text that this test generated itself; the library never does this.
        return float(eval(text, {"__builtins__": {}}, {**ORACLE, "x": x, "y": y}))
    except (ZeroDivisionError, OverflowError, ValueError):
        return math.nan


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


COORDINATES = st.floats(-3.0, 3.0, allow_nan=False)


@given(text=expressions(), x=COORDINATES, y=COORDINATES)
@settings(max_examples=300, deadline=None)
def test_agrees_with_python_on_floats(text, x, y):
    expected = oracle(text, x, y)
    assume(math.isfinite(expected))
    # A value that moves under a 1e-12 nudge of the inputs is rounding noise (a difference of
    # nearly equal terms, say), where two correct float64 implementations may disagree.
    assume(close(oracle(text, x * (1 + 1e-12) + 1e-12, y * (1 + 1e-12) + 1e-12), expected))
    expr = parse_expression(text)
    got = expr(*(t(x), t(y))[: expr.n_params]).item()
    assert close(got, expected), (text, x, y, got, expected)


# --- property: any text at all is an allowed expression or an ExpressionError -------------------

RISKY = "xyzei0123456789.+-*/^%@~<>=!&|()[]{}'\",;:_ \t\n\\#"
SNIPPETS = [
    "__import__",
    "lambda",
    "os",
    "open",
    "sys",
    "eval",
    ".__class__",
    "__builtins__",
    "[0]",
    "sin(",
    "min(",
    "x",
    "y",
    "pi",
    "**",
    "1e999",
    "9**9",
    ")",
    "(",
    ",",
    "'",
    "+",
    "-",
    "*",
    "/",
    " ",
]
TEXTS = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=RISKY, max_size=60),
    st.lists(st.sampled_from(SNIPPETS), max_size=25).map("".join),
)
GRID = torch.linspace(-2, 2, 5, dtype=F64)


@given(TEXTS)
@settings(max_examples=300, deadline=500)
def test_any_text_is_allowed_or_an_expression_error(text):
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(expr, Expression) and set(expr.variables) <= {"x", "y"}
    names = {
        node.id
        for node in ast.walk(ast.parse(expr.text, mode="eval"))
        if isinstance(node, ast.Name)
    }
    assert names <= {"x", "y", "pi", "e"} | FUNCTIONS
    values = expr(*[GRID] * expr.n_params)
    assert values.shape == GRID.shape and values.dtype == F64
