"""Server-side validation of everything a browser sends.

A browser is untrusted: any Input or State can arrive as any JSON value, whatever the control
on the page allows. Each function takes the raw value, returns a clean Python value or raises
LosslabError with a message for the page that quotes what was typed ("Steps must be a whole
number from 1 to 1000; got 'abc'.").
Surfaces go through `losslab.surface`, whose expression parser never runs code.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import partial

import torch

from losslab.errors import LosslabError
from losslab.objectives import Surface, surface, surfaces
from losslab.optim import names as optimizer_names

EXPRESSION = "__expression__"  # the surface dropdown's "typed expression" entry
MAX_COORDINATE = 1e6
MAX_SEED = 2**31 - 1


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value, name: str, *, low: float, high: float) -> float:
    """A finite number in [low, high]; numeric strings are accepted (typed inputs)."""
    typed = value
    if isinstance(value, str):
        value = _read_number(value)
    if not _is_number(value) or not math.isfinite(value) or not low <= value <= high:
        raise LosslabError(
            f"{_title(name)} must be a number from {low:g} to {high:g}; got {_show(typed)}."
        )
    return float(value)


def integer(value, name: str, *, low: int, high: int) -> int:
    """An integer in [low, high]; a whole float (3.0) or a numeric string is accepted."""
    typed = value
    if isinstance(value, str):
        value = _read_number(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LosslabError(
            f"{_title(name)} must be a whole number from {low} to {high}; got {_show(typed)}."
        )
    return value


def _read_number(text: str):
    """'2.5' -> 2.5; text that is not a number stays text (and is refused, quoted)."""
    try:
        return float(text.strip())
    except ValueError:
        return text


def log_rate(exponent, name: str = "learning rate", *, low: float, high: float) -> float:
    """A slider on log10(lr) -> lr to 3 significant digits (what the page shows); the slider's
    range [low, high] is checked again here."""
    return float(f"{10.0 ** number(exponent, f'log10 {name}', low=low, high=high):.3g}")


def choice(value, name: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise LosslabError(
            f"{_title(name)} must be one of {', '.join(options)}; got {_show(value)}."
        )
    return value


def flag(value) -> bool:
    """A checklist's value (a list of ticked options) or a plain boolean -> bool."""
    if isinstance(value, list | tuple):
        return len(value) > 0
    return value is True


def optimizers(value, *, limit: int = 8) -> list[str]:
    """The race's checklist: known optimizer names, no repeats, at least one."""
    if not isinstance(value, list | tuple):
        raise LosslabError(f"Optimizers must be a list of names; got {_show(value)}.")
    known = optimizer_names()
    chosen = [choice(v, "optimizer", known) for v in value]
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        raise LosslabError("no optimizer is ticked: tick at least one to race.")
    if len(chosen) > limit:
        raise LosslabError(f"{len(chosen)} optimizers ticked: at most {limit} can race.")
    return chosen


def seed(value) -> int:
    return integer(value, "seed", low=0, high=MAX_SEED)


def point(value, n_params: int) -> tuple[float, ...]:
    """A click as the browser reports it, {"x": ..., "y": ...}, -> (x,) or (x, y)."""
    if not isinstance(value, dict):
        raise LosslabError(f"A click must be a point with x and y; got {_show(value)}.")
    keys = ("x", "y")[:n_params]
    coords = []
    for key in keys:
        coords.append(
            number(value.get(key), f"start {key}", low=-MAX_COORDINATE, high=MAX_COORDINATE)
        )
    return tuple(coords)


def builtin_names(n_params: int) -> list[str]:
    """Built-in surfaces with `n_params` parameters, in the lessons' order."""
    return [name for name in surfaces() if surface(name).n_params == n_params]


def pick_surface(
    dropdown, expression, *, n_params: int = 2, builtins: Sequence[str] | None = None
) -> tuple[Surface, str]:
    """The dropdown's built-in, or the typed expression when the dropdown says so.

    Returns the surface and the text that rebuilds it (stored per browser and parsed again on
    every request, never trusted as an object)."""
    allowed = list(builtins) if builtins is not None else builtin_names(n_params)
    name = choice(dropdown, "surface", [*allowed, EXPRESSION])
    if name != EXPRESSION:
        return surface(name), name
    return surface_from_text(expression, n_params=n_params), expression.strip()


def surface_from_text(text, *, n_params: int = 2) -> Surface:
    """A typed expression (or built-in name) through the library's safe parser.

    On a 2-D page a formula in one variable (x**2, or y**2) is a surface constant along the
    other, and its description says so (`one_variable_note`)."""
    if not isinstance(text, str) or not text.strip():
        raise LosslabError(
            "the expression is empty: type a formula in x and y, e.g. x**2 + 3*y**2."
        )
    result = surface(text)
    if n_params == 2 and is_typed(result):
        return _as_surface_in_x_and_y(result)
    if result.n_params != n_params:
        variables = "x and y" if n_params == 2 else "x"
        raise LosslabError(
            f"'{text.strip()[:60]}' has {result.n_params} variable(s); this page needs a "
            f"surface in {variables}."
        )
    return result


TYPED = "typed expression"  # the library's description of a typed surface


def is_typed(objective) -> bool:
    return objective.description.startswith(TYPED)


def one_variable_note(objective) -> str:
    """'x**2 does not depend on y: shown as a surface constant along y.' or ''."""
    return objective.description[len(TYPED) + 2 :] if is_typed(objective) else ""


def _as_surface_in_x_and_y(typed: Surface) -> Surface:
    """A typed surface seen in (x, y): one missing variable (or both) becomes a constant
    direction, said in the description: 'typed expression. x**2 does not depend on y: ...'."""
    used = getattr(typed.fn, "variables", ("x", "y"))
    missing = [v for v in ("x", "y") if v not in used]
    if not missing:
        return typed
    note = (
        f"{typed.formula} does not depend on {' or '.join(missing)}: shown as a surface "
        f"constant along {' and '.join(missing)}."
    )
    fn = typed.fn if typed.n_params == 2 else partial(_ignoring_y, typed.fn)
    window = (*typed.window, *typed.window)[:2]
    return dataclasses.replace(
        typed, n_params=2, fn=fn, window=window, description=f"{TYPED}. {note}"
    )


def _ignoring_y(fn, x, y):
    """fn(x) as a function of (x, y): the same value for every y, of x's and y's shape."""
    return fn(x) + torch.zeros_like(y)


def stored_surface(text, *, n_params: int = 2) -> Surface:
    """A surface from the text kept in a page's store (sent back by the browser)."""
    if not isinstance(text, str):
        raise LosslabError("the page state is damaged: reload the page.")
    return surface_from_text(text, n_params=n_params)


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


def _show(value) -> str:
    """What the browser sent, as the learner would recognise it: 'abc', nothing, 2.5."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "nothing"
    text = repr(value.strip()) if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
