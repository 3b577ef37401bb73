"""Built-in 1-D and 2-D test surfaces and typed expressions, as batched objectives.

Each built-in carries its formula, a plotting window and its known minima. Minima are written
to a few digits and polished by Newton's method when the surface is built, so what the library
reports is exact to float64 whatever was typed here.
"""

from __future__ import annotations

import difflib
import functools
import keyword
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch
from torch import Tensor

from losslab._checks import check_scalar
from losslab.errors import LosslabError
from losslab.objectives.base import Objective

Coords = tuple[Tensor, ...]


@dataclass(frozen=True, eq=False)
class Surface(Objective):
    """A 1-D or 2-D analytic objective.

    Call it on params of shape (..., n_params) to get values of shape (...). Lists, numpy
    arrays and integer tensors are computed in float64; a floating tensor keeps its dtype.
    """

    name: str
    n_params: int
    fn: Callable[..., Tensor] = field(repr=False)  # coords x[, y], each (...) -> (...)
    window: tuple[tuple[float, float], ...] = ()
    known_minima: tuple[tuple[float, ...], ...] = ()
    description: str = ""
    formula: str = ""
    log_scale: bool = False  # the value range spans decades: plot colour on a log scale
    # Read-only (a mapping proxy over a private copy): built-ins are cached and handed out
    # again, so a caller's edit must not reach the next caller or disagree with `fn`.
    hyperparameters: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        frozen = MappingProxyType(dict(self.hyperparameters))
        object.__setattr__(self, "hyperparameters", frozen)

    def __call__(self, params) -> Tensor:
        params = as_params(params)
        if params.shape[-1:] != (self.n_params,):
            raise LosslabError(
                f"params of shape {tuple(params.shape)} do not fit surface '{self.name}': "
                f"the last dimension must be n_params == {self.n_params}."
            )
        return self.fn(*params.unbind(-1))

    # A surface is row-wise: row b of the output depends on row b of the input only. So the
    # gradient of the *sum* over the batch is every row's own gradient, in one backward pass,
    # which costs a fraction of torch.func.vmap's per-call dispatch on these tiny functions.
    # The base class keeps the torch.func route for objectives where rows may interact.

    def value_and_grad(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """params: (B, n) -> values (B,), gradients (B, n)."""
        with torch.enable_grad():
            leaf = params.detach().requires_grad_(True)
            values = self(leaf)
            (grads,) = torch.autograd.grad(values.sum(), leaf)
        return values.detach(), grads

    def hessian(self, params: Tensor) -> Tensor:
        """params: (B, n) -> (B, n, n), one extra backward pass per parameter (n <= 2)."""
        with torch.enable_grad():
            leaf = params.detach().requires_grad_(True)
            (grads,) = torch.autograd.grad(self(leaf).sum(), leaf, create_graph=True)
            # A linear or constant surface has a gradient with no graph: its Hessian is zero.
            rows = [
                _grad_or_zeros(grads[..., i].sum(), leaf) if grads.requires_grad else None
                for i in range(self.n_params)
            ]
        rows = [torch.zeros_like(params) if r is None else r.detach() for r in rows]
        return torch.stack(rows, dim=-2)

    @property
    def bounds(self) -> Tensor:
        return torch.tensor(self.window, dtype=torch.float64)

    def describe(self) -> dict:
        """The base description plus the formula and hyperparameters when there are any
        (the keys landscape files written before this method existed were hashed with)."""
        description = super().describe()
        if self.formula:
            description["formula"] = self.formula
        if self.hyperparameters:
            description["hyperparameters"] = dict(self.hyperparameters)
        return description

    @property
    def minima(self) -> Tensor:
        if not self.known_minima:
            return torch.empty(0, self.n_params, dtype=torch.float64)
        return torch.tensor(self.known_minima, dtype=torch.float64)

    def __str__(self) -> str:
        return f"{self.name}: {self.description}"


def _grad_or_zeros(output: Tensor, leaf: Tensor) -> Tensor | None:
    """d output / d leaf, or None where output does not depend on leaf."""
    (grad,) = torch.autograd.grad(output, leaf, retain_graph=True, allow_unused=True)
    return grad


def as_params(params) -> Tensor:
    """Anything array-like -> a floating tensor; non-floating input becomes float64."""
    if isinstance(params, Tensor) and params.is_floating_point():
        return params
    return torch.as_tensor(params, dtype=torch.float64)


# -- the built-ins ------------------------------------------------------------------------------
# Each entry: formula on coordinate tensors, window, approximate minima, description, formula text.


def _double_well(x):
    return 0.25 * x**4 - 0.85 * x**2 + 0.1 * x


def _parabola(x):
    return x**2


def _bowl(x, y):
    return x**2 + y**2


def _rosenbrock(x, y, a=1.0, b=100.0):
    return (a - x) ** 2 + b * (y - x**2) ** 2


def _saddle(x, y):
    return x**2 - y**2


def _monkey_saddle(x, y):
    return x**3 - 3 * x * y**2


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _three_hump_camel(x, y):
    return 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2


def _six_hump_camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _rastrigin(x, y):
    two_pi = 2 * math.pi
    return 20 + x**2 - 10 * torch.cos(two_pi * x) + y**2 - 10 * torch.cos(two_pi * y)


def _ackley(x, y):
    r = torch.sqrt(0.5 * (x**2 + y**2))
    waves = 0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y))
    return -20 * torch.exp(-0.2 * r) - torch.exp(waves) + math.e + 20


def _plateau(x, y):
    # A narrow Gaussian well in a wide flat mesa: far from (1, 0.5) the gradient is ~1e-6.
    return 1 - torch.exp(-((x - 1) ** 2 + (y - 0.5) ** 2) / 2)


@dataclass(frozen=True)
class _Spec:
    fn: Callable[..., Tensor]
    window: tuple[tuple[float, float], ...]
    minima: tuple[tuple[float, ...], ...]
    description: str
    formula: str
    log_scale: bool = False
    parameters: dict[str, tuple[float, str]] = field(default_factory=dict)  # name: (default, rule)


_BUILTINS: dict[str, _Spec] = {
    "double_well": _Spec(
        _double_well,
        ((-2.5, 2.5),),
        ((-1.33,), (1.27,)),
        "two minima: the deeper near -1.3, a shallower one near +1.3",
        "x^4/4 - 0.85 x^2 + 0.1 x",
    ),
    "parabola": _Spec(_parabola, ((-3.0, 3.0),), ((0.0,),), "the 1-D convex bowl", "x^2"),
    "bowl": _Spec(
        _bowl,
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((0.0, 0.0),),
        "isotropic quadratic bowl, the MSE landscape of a well-conditioned linear model",
        "x^2 + y^2",
    ),
    "stretched_bowl": _Spec(
        None,
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((0.0, 0.0),),  # fn built from `condition`
        "elongated quadratic: gradient descent zig-zags across the narrow axis",
        "x^2 + condition * y^2",
        parameters={"condition": (10.0, "must be >= 1")},
    ),
    "rosenbrock": _Spec(
        _rosenbrock,
        ((-2.0, 2.0), (-1.0, 3.0)),
        ((1.0, 1.0),),
        "a curved, flat-bottomed valley: easy to enter, slow to follow to (1, 1)",
        "(1 - x)^2 + 100 (y - x^2)^2",
        log_scale=True,
    ),
    "saddle": _Spec(
        _saddle,
        ((-2.0, 2.0), (-2.0, 2.0)),
        (),
        "a saddle at the origin: curvature +2 along x, -2 along y",
        "x^2 - y^2",
    ),
    "monkey_saddle": _Spec(
        _monkey_saddle,
        ((-1.5, 1.5), (-1.5, 1.5)),
        (),
        "a degenerate saddle with three descending valleys; the Hessian is zero at the origin",
        "x^3 - 3 x y^2",
    ),
    "himmelblau": _Spec(
        _himmelblau,
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
        "four minima of equal depth (0), four saddles and one maximum; 170 at the origin",
        "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        log_scale=True,
    ),
    "beale": _Spec(
        _beale,
        ((-4.5, 4.5), (-4.5, 4.5)),
        ((3.0, 0.5),),
        "sharp ridges and flat valleys; values span ten decades",
        "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        log_scale=True,
    ),
    "booth": _Spec(
        _booth,
        ((-10.0, 10.0), (-10.0, 10.0)),
        ((1.0, 3.0),),
        "a tilted quadratic bowl with its minimum at (1, 3)",
        "(x + 2y - 7)^2 + (2x + y - 5)^2",
    ),
    "three_hump_camel": _Spec(
        _three_hump_camel,
        ((-2.5, 2.5), (-2.5, 2.5)),
        ((0.0, 0.0), (1.7476, -0.8738), (-1.7476, 0.8738)),
        "a global minimum at the origin between two shallower local minima",
        "2x^2 - 1.05x^4 + x^6/6 + xy + y^2",
    ),
    "six_hump_camel": _Spec(
        _six_hump_camel,
        ((-3.0, 3.0), (-2.0, 2.0)),
        (
            (0.0898, -0.7127),
            (-0.0898, 0.7127),
            (1.7036, -0.7961),
            (-1.7036, 0.7961),
            (1.6071, 0.5687),
            (-1.6071, -0.5687),
        ),
        "six minima: two global (-1.0316), two at -0.2155 and two at 2.1043",
        "(4 - 2.1x^2 + x^4/3) x^2 + xy + (4y^2 - 4) y^2",
        log_scale=True,
    ),
    "rastrigin": _Spec(
        _rastrigin,
        ((-5.12, 5.12), (-5.12, 5.12)),
        ((0.0, 0.0),),
        "an egg-crate of about a hundred local minima around the global one at the origin",
        "20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
    ),
    "ackley": _Spec(
        _ackley,
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((0.0, 0.0),),
        "a nearly flat, rippled outer region around one deep funnel at the origin",
        "-20 exp(-0.2 sqrt((x^2 + y^2)/2)) - exp((cos 2 pi x + cos 2 pi y)/2) + e + 20",
    ),
    "plateau": _Spec(
        _plateau,
        ((-6.0, 6.0), (-6.0, 6.0)),
        ((1.0, 0.5),),
        "a wide flat mesa where the gradient is tiny, around one Gaussian well at (1, 0.5)",
        "1 - exp(-((x - 1)^2 + (y - 0.5)^2) / 2)",
    ),
}


def surfaces() -> list[str]:
    """Names of the built-in surfaces, 1-D first, in the order of the lessons."""
    return list(_BUILTINS)


def surface(name_or_expression: str, **hyperparameters: float) -> Surface:
    """A built-in surface by name, or a surface typed as an expression in x (and y).

    >>> surface("himmelblau")([0.0, 0.0])
    tensor(170., dtype=torch.float64)
    >>> surface("stretched_bowl", condition=25)          # or "stretched_bowl:condition=25"
    >>> surface("x**2 + 10*y**2")                        # parsed safely, never eval'd

    Hyperparameters may also follow the name as "name:key=value,key=value".
    """
    if not isinstance(name_or_expression, str) or not name_or_expression.strip():
        raise LosslabError(
            f"surface == {name_or_expression!r}: give a built-in name "
            f"({', '.join(surfaces())}) or an expression in x and y."
        )
    text = name_or_expression.strip()
    named = _named_surface(text)
    if named is None:  # not a name: an expression, whose parser names what it refuses
        if hyperparameters:
            raise LosslabError(
                f"hyperparameters {', '.join(sorted(hyperparameters))} apply only to built-in "
                f"surfaces, and {text!r} is an expression."
            )
        return _expression_surface(text)
    name, options = named
    if name in _BUILTINS:
        return _builtin(name, **{**_parse_options(name, options), **hyperparameters})
    message = _unknown_surface_message(name)
    if hyperparameters or options:
        message += " Hyperparameters apply only to built-ins."
    raise LosslabError(message)


# Bare words that are valid expressions on their own, not misspelled surface names.
_EXPRESSION_NAMES = frozenset({"x", "y", "pi", "e"})
# ":key=value,key=value" after a name; values are checked as numbers by _parse_options.
_OPTIONS = re.compile(r"\s*[A-Za-z_]\w*\s*=[^,:=]*(,\s*[A-Za-z_]\w*\s*=[^,:=]*)*,?\s*")


def _named_surface(text: str) -> tuple[str, str] | None:
    """(name, options) when `text` names a surface, None when it is an expression.

    A name is a built-in, optionally followed by ":options" (read strictly later, so a typo
    there is reported against the built-in), or any other plain word, optionally followed by
    options of the form ":key=value,...": "rosenbrok" and "bowll:a=1" are misspelled names.
    Everything else, "(z := x)", "lambda: x" and "x[::1]" included, is an expression.
    """
    head, colon, options = text.partition(":")
    head = head.strip()
    if head in _BUILTINS:
        return head, options
    plain = head.isidentifier() and not keyword.iskeyword(head) and head not in _EXPRESSION_NAMES
    if plain and (not colon or _OPTIONS.fullmatch(options)):
        return head, options
    return None


def _unknown_surface_message(name: str) -> str:
    close = difflib.get_close_matches(name, surfaces(), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"unknown surface {name!r}: built-ins are {', '.join(surfaces())}, "
        f"or type an expression in x and y.{hint}"
    )


def _parse_options(name: str, options: str) -> dict[str, float]:
    parsed: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            parsed[key.strip()] = float(value)
        except ValueError:
            raise LosslabError(
                f"cannot read {item!r} in '{name}:{options}': write key=number, "
                f"e.g. 'stretched_bowl:condition=25'."
            ) from None
    return parsed


def _builtin(name: str, **hyperparameters: float) -> Surface:
    spec = _BUILTINS[name]
    values = {key: default for key, (default, _) in spec.parameters.items()}
    for key, value in hyperparameters.items():
        if key not in spec.parameters:
            allowed = ", ".join(spec.parameters) or "none"
            raise LosslabError(
                f"surface '{name}' has no hyperparameter {key!r}: allowed: {allowed}."
            )
        values[key] = float(value)
    return _build(name, tuple(sorted(values.items())))


@functools.lru_cache(maxsize=64)
def _build(name: str, hyperparameters: tuple[tuple[str, float], ...]) -> Surface:
    spec = _BUILTINS[name]
    params = dict(hyperparameters)
    fn = spec.fn
    formula = spec.formula
    if name == "stretched_bowl":
        condition = check_scalar("condition", params["condition"], float, low=1)

        def fn(x, y, c=condition):
            return x**2 + c * y**2

        formula = f"x^2 + {condition:g} y^2"
    draft = Surface(
        name,
        len(spec.window),
        fn,
        spec.window,
        (),
        spec.description,
        formula,
        spec.log_scale,
        params,
    )
    minima = _polish(draft, torch.tensor(spec.minima, dtype=torch.float64)) if spec.minima else ()
    return Surface(
        name,
        len(spec.window),
        fn,
        spec.window,
        minima,
        spec.description,
        formula,
        spec.log_scale,
        params,
    )


def _polish(
    objective: Objective, points: Tensor, n_steps: int = 30
) -> tuple[tuple[float, ...], ...]:
    """Newton on the gradient from approximate minima: (k, n) -> exact float64 minima.

    A minimum at a kink (Ackley's origin) has no gradient there; such points are kept as typed.
    """
    for _ in range(n_steps):
        _, grads = objective.value_and_grad(points)
        step = torch.linalg.solve(objective.hessian(points), grads.unsqueeze(-1)).squeeze(-1)
        points = torch.where(torch.isfinite(step), points - step, points)
    return tuple(tuple(float(v) for v in point) for point in points)


def _expression_surface(text: str) -> Surface:
    from losslab.objectives.expression import parse_expression

    expression = parse_expression(text)
    n = expression.n_params
    window = ((-3.0, 3.0),) * n
    return Surface(expression.text, n, expression, window, (), "typed expression", expression.text)
