"""Surfaces typed as text ("x**2 + 10*y**2"), turned into torch functions without running code.

The text comes from a command line or a notebook, so it is untrusted: handing it to eval, exec,
compile or sympy would let a formula such as "__import__('os').system(...)" run. Instead the text
is parsed with `ast.parse` and the tree is walked against a whitelist (numbers, x and y, pi and e,
+ - * / **, and a few named functions); anything else is refused with a one-line ExpressionError
that names the culprit. What is accepted becomes nested closures over torch ops: elementwise, in
the dtype of the inputs, and transparent to torch.func.grad, hessian and vmap.

Limits on length, nesting, size, literals and exponents keep every accepted text cheap to
evaluate on a large grid, and every refused one cheap to refuse.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from losslab.errors import ExpressionError

__all__ = [
    "MAX_CONSTANT",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
    "Expression",
    "parse_expression",
]

MAX_LENGTH = 500  # characters
MAX_DEPTH = 40  # nesting depth of the syntax tree, and of brackets in the text
MAX_NODES = 300  # sub-expressions in all
MAX_EXPONENT = 16  # largest |constant exponent| in **
MAX_CONSTANT = 1e6  # largest |numeric literal|

Value = Tensor | float
Coords = tuple[Tensor, ...]
# A built sub-expression is a float when it has no variables (folded once, at parse time) and
# otherwise a closure from the coordinates (x,) or (x, y) to a tensor.
Node = float | Callable[[Coords], Tensor]

_VARIABLES = ("x", "y")
_CONSTANTS = {"pi": math.pi, "e": math.e}


def _as_tensors(a: Value, b: Value) -> tuple[Tensor, Tensor]:
    # torch.minimum/maximum take tensors only: a folded constant joins in the other's dtype.
    if not isinstance(a, Tensor):
        a = torch.as_tensor(a, dtype=b.dtype, device=b.device)
    if not isinstance(b, Tensor):
        b = torch.as_tensor(b, dtype=a.dtype, device=a.device)
    return a, b


def _minimum(a: Value, b: Value) -> Tensor:
    return torch.minimum(*_as_tensors(a, b))


def _maximum(a: Value, b: Value) -> Tensor:
    return torch.maximum(*_as_tensors(a, b))


# name -> (number of arguments, elementwise torch function)
_FUNCTIONS: dict[str, tuple[int, Callable[..., Tensor]]] = {
    "abs": (1, torch.abs),
    "cos": (1, torch.cos),
    "exp": (1, torch.exp),
    "log": (1, torch.log),
    "max": (2, _maximum),
    "min": (2, _minimum),
    "relu": (1, torch.relu),
    "sigmoid": (1, torch.sigmoid),
    "sin": (1, torch.sin),
    "softplus": (1, torch.nn.functional.softplus),
    "sqrt": (1, torch.sqrt),
    "tan": (1, torch.tan),
    "tanh": (1, torch.tanh),
}
_FUNCTION_LIST = ", ".join(sorted(_FUNCTIONS))
_BINARY: dict[type[ast.operator], Callable[[Value, Value], Value]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.BitXor: "^",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.Not: "not",
    ast.Invert: "~",
}
_KINDS: dict[type[ast.AST], str] = {
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.IfExp: "conditional",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator",
    ast.JoinedStr: "f-string",
    ast.NamedExpr: "assignment",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Starred: "starred",
}
_ALLOWED = f"use numbers, x, y, pi, e, + - * / ** and the functions {_FUNCTION_LIST}"


@dataclass(frozen=True)
class Expression:
    """A parsed expression: call it as expr(x) when n_params == 1, expr(x, y) when 2.

    The coordinates are tensors of broadcastable shapes; the result has their broadcast shape
    and dtype (non-float inputs are computed in float64).
    """

    text: str
    variables: tuple[str, ...]  # which of x, y the text uses, in that order
    _fn: Node = field(repr=False, compare=False)

    @property
    def n_params(self) -> int:
        # y is the second coordinate, so a formula in y alone is still a 2-D surface.
        return 2 if "y" in self.variables else 1

    def __call__(self, *coords: Tensor) -> Tensor:
        if len(coords) != self.n_params:
            names = ", ".join(_VARIABLES[: self.n_params])
            raise ExpressionError(
                f"expression {self.text!r} takes {self.n_params} coordinate(s) ({names}), "
                f"got {len(coords)}: call it as expr({names})."
            )
        tensors = tuple(
            c
            if isinstance(c, Tensor) and c.is_floating_point()
            else torch.as_tensor(c, dtype=torch.float64)
            for c in coords
        )
        if isinstance(self._fn, float):
            # A constant is still one value per point, and stays attached to x so that
            # autograd sees a graph (with zero gradient) rather than a leaf without one.
            x = tensors[0]
            return torch.where(torch.ones_like(x, dtype=torch.bool), self._fn, x)
        out = self._fn(tensors)
        shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        if out.shape != shape or any(out is t for t in tensors):
            # "y" alone, or "x" itself: return a fresh tensor of the common shape, not an input.
            out = out.expand(shape).clone()
        return out


def parse_expression(text: str) -> Expression:
    """Parse text such as "sin(x)*cos(y) + 0.1*(x**2 + y**2)" into an Expression.

    Raises ExpressionError, with a one-line message naming the culprit, for anything outside
    the whitelist or the limits.
    """
    if not isinstance(text, str):
        raise ExpressionError(
            f"an expression must be text, got {type(text).__name__}: e.g. 'x**2 + 10*y**2'."
        )
    text = text.strip()
    if not text:
        raise ExpressionError(
            "empty expression: type a formula in x (and y), e.g. 'x**2 + 10*y**2'."
        )
    # Checked before ast.parse, whose own cost and recursion grow with the text.
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}: shorten it."
        )
    # Brackets leave no node in the tree, but the parser recurses on each one.
    if _bracket_depth(text) > MAX_DEPTH:
        raise ExpressionError(f"expression nests brackets more than {MAX_DEPTH} deep: simplify it.")
    tree = _parse(text)
    size = sum(isinstance(node, ast.expr) for node in ast.walk(tree))  # ast.walk is iterative
    if size > MAX_NODES:
        raise ExpressionError(
            f"expression has {size} parts; the limit is {MAX_NODES}: simplify it."
        )
    builder = _Builder(text)
    fn = builder.build(tree.body, depth=1)
    variables = tuple(v for v in _VARIABLES if v in builder.variables)
    return Expression(text, variables, fn)


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(depth - 1, 0)
    return deepest


def _parse(text: str) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            # e.g. an invalid escape in a string literal, which is refused anyway
            warnings.simplefilter("ignore")
            return ast.parse(text, mode="eval")
    except SyntaxError as error:
        reason = " ".join(str(error.msg).split())  # one line, whatever the parser said
        raise ExpressionError(
            f"cannot parse expression {text!r}: {reason}{_where(text, error)}."
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:  # e.g. a null byte
        raise ExpressionError(
            f"cannot parse expression {text!r}: {type(error).__name__}: {error}."
        ) from None


def _where(text: str, error: SyntaxError) -> str:
    """' at column 2, near ':'': where the parser stopped and the character it stopped at."""
    # The parser reports offset 0 (or none) when the text ends too early, as in "x +".
    if not error.offset:
        return " at the end"
    line_number = error.lineno or 1
    where = f" at column {error.offset}"
    if line_number > 1:
        where = f" at line {line_number}, column {error.offset}"
    lines = text.splitlines() or [""]
    line = lines[line_number - 1] if line_number <= len(lines) else ""
    token = re.match(r"\w+|\S?", line[error.offset - 1 :]).group()  # a word or one symbol
    return where + (f", near {token!r}" if token else "")


def _apply(fn: Callable[..., Value], *args: Node) -> Node:
    """fn applied to built sub-expressions: folded now if none has a variable, else a closure."""
    if all(isinstance(arg, float) for arg in args):
        # Folded with the same torch ops in float64, so 1/0 is inf and log(-1) nan, as they
        # would be at evaluation time, rather than a Python exception.
        return float(fn(*(torch.tensor(arg, dtype=torch.float64) for arg in args)))
    parts = [arg if callable(arg) else _constant(arg) for arg in args]
    if len(parts) == 1:
        (f,) = parts
        return lambda coords: fn(f(coords))
    f, g = parts
    return lambda coords: fn(f(coords), g(coords))


def _constant(value: float) -> Callable[[Coords], float]:
    # A Python number, not a tensor: torch ops then keep the dtype of the tensor operand.
    return lambda coords: value


def _variable(index: int) -> Callable[[Coords], Tensor]:
    return lambda coords: coords[index]


def _power(exponent: int | float) -> Callable[[Value], Value]:
    return lambda base: torch.pow(base, exponent)


class _Builder:
    """Walks the syntax tree, accepting only whitelisted nodes, and builds the closures."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.variables: set[str] = set()

    def build(self, node: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested more than {MAX_DEPTH} levels deep: simplify it."
            )
        inner = depth + 1
        match node:
            # type(), not isinstance: True is an int, and 1j or 'a' must not pass
            case ast.Constant(value=value) if type(value) in (int, float):
                return self._number(node, value)
            case ast.Name(id=name):
                return self._name(name)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return _apply(operator.neg, self.build(operand, inner))
            case ast.UnaryOp(op=ast.UAdd(), operand=operand):
                return self.build(operand, inner)
            case ast.BinOp(op=ast.Pow(), left=left, right=right):
                return _apply(self._exponent(node, right, inner), self.build(left, inner))
            case ast.BinOp(op=op, left=left, right=right) if type(op) in _BINARY:
                return _apply(_BINARY[type(op)], self.build(left, inner), self.build(right, inner))
            case ast.Call():
                return self._call(node, inner)
        raise self._not_allowed(node)

    def _number(self, node: ast.expr, value: float) -> float:
        if not abs(value) <= MAX_CONSTANT:  # `not <=` also catches 1e999 == inf
            raise ExpressionError(
                f"number {self._snippet(node)} is too large: literals are limited to "
                f"{MAX_CONSTANT:g} in size."
            )
        return float(value)

    def _name(self, name: str) -> Node:
        if name in _VARIABLES:
            self.variables.add(name)
            return _variable(_VARIABLES.index(name))
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _FUNCTIONS:
            raise ExpressionError(f"function '{name}' needs an argument: write e.g. {name}(x).")
        raise ExpressionError(f"unknown name '{name}' in expression: use x, y, pi, e.")

    def _exponent(self, node: ast.BinOp, right: ast.expr, depth: int) -> Callable[[Value], Value]:
        # A constant exponent keeps the cost of ** fixed and rules out towers like x**x**x.
        exponent = self.build(right, depth)
        if not isinstance(exponent, float):
            raise ExpressionError(
                f"exponent {self._snippet(right)} in {self._snippet(node)} must be a number, "
                f"e.g. x**2, x**0.5 or x**-1; write exp(y*log(x)) for a variable power."
            )
        if not abs(exponent) <= MAX_EXPONENT:
            raise ExpressionError(
                f"exponent {_number_text(exponent)} in {self._snippet(node)} is not allowed: "
                f"|exponent| must be at most {MAX_EXPONENT}."
            )
        # An integral exponent goes in as an int so torch.pow takes its exact integer path.
        return _power(int(exponent) if exponent.is_integer() else exponent)

    def _call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self._not_allowed(node.func)
            raise ExpressionError(
                f"calling {self._snippet(node.func)} is not allowed in an expression: "
                f"only the functions {_FUNCTION_LIST} can be called."
            )
        name = node.func.id
        if name in _VARIABLES or name in _CONSTANTS:
            raise ExpressionError(
                f"{self._snippet(node)} calls '{name}', which is not a function: "
                f"write {name}*(...) to multiply."
            )
        if name not in _FUNCTIONS:
            raise ExpressionError(f"function '{name}' is not allowed: use one of {_FUNCTION_LIST}.")
        for keyword in node.keywords:
            what = "'**' unpacking" if keyword.arg is None else f"keyword argument '{keyword.arg}='"
            raise ExpressionError(
                f"{what} in {name}(...) is not allowed in an expression: "
                f"pass arguments by position, e.g. {name}(x)."
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError(
                    f"starred argument {self._snippet(arg)} in {name}(...) is not allowed in an "
                    f"expression: pass arguments one by one."
                )
        arity, fn = _FUNCTIONS[name]
        if len(node.args) != arity:
            example = f"{name}(x, y)" if arity == 2 else f"{name}(x)"
            plural = "s" if arity > 1 else ""
            raise ExpressionError(
                f"function '{name}' takes {arity} argument{plural}, got {len(node.args)}: "
                f"e.g. {example}."
            )
        return _apply(fn, *(self.build(arg, depth) for arg in node.args))

    def _not_allowed(self, node: ast.AST) -> ExpressionError:
        snippet = self._snippet(node)
        match node:
            case ast.BinOp(op=ast.BitXor()):
                return ExpressionError(
                    f"operator '^' in {snippet} is not allowed in an expression: write powers "
                    f"with **, e.g. x**2 ('^' is Python's bitwise xor)."
                )
            case ast.BinOp(op=op) | ast.UnaryOp(op=op):
                what = f"operator '{_SYMBOLS.get(type(op), type(op).__name__)}' in {snippet}"
            case ast.BoolOp(op=op):
                what = f"operator '{'and' if isinstance(op, ast.And) else 'or'}' in {snippet}"
            case ast.Attribute(attr=attr):
                what = f"attribute access '.{attr}'"
            case ast.NamedExpr():
                what = f"walrus assignment ':=' in {snippet}"
            case ast.Dict(keys=keys) if None in keys:
                what = f"dict unpacking '**' in {snippet}"
            case ast.Constant(value=str() as value):
                what = f"string {_short(repr(value))}"
            case ast.Constant(value=bytes() as value):
                what = f"bytes {_short(repr(value))}"
            case ast.Constant(value=complex()):
                what = f"imaginary number {snippet}"
            case ast.Constant():
                what = f"constant {snippet}"
            case _:
                what = f"{_KINDS.get(type(node), type(node).__name__)} {snippet}"
        return ExpressionError(f"{what} is not allowed in an expression: {_ALLOWED}.")

    def _snippet(self, node: ast.AST) -> str:
        """The text of a node, quoted and shortened to one line."""
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        return _short(repr(segment))


def _short(quoted: str, limit: int = 60) -> str:
    return quoted if len(quoted) <= limit else quoted[: limit - 3] + "..."


def _number_text(value: float) -> str:
    # 387420489 rather than 3.87e+08: the user should recognise the number they caused.
    return str(int(value)) if value.is_integer() else repr(value)
