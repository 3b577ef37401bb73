"""Server-side validation of everything a browser sends.

A browser is untrusted: any Input or State can arrive as any JSON value, whatever the control
on the page allows. Each function takes the raw value, returns a clean Python value or raises
LosslabError with a message for the page ("learning rate == 'abc': must be a number ...").
Surfaces go through `losslab.surface`, whose expression parser never runs code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = value[:40]
    if not _is_number(value) or not math.isfinite(value) or not low <= value <= high:
        raise LosslabError(f"{name} == {_show(value)}: must be a number in [{low:g}, {high:g}].")
    return float(value)


def integer(value, name: str, *, low: int, high: int) -> int:
    """An integer in [low, high]; a whole float (3.0) or a numeric string is accepted."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            value = value[:40]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LosslabError(f"{name} == {_show(value)}: must be a whole number in [{low}, {high}].")
    return value


def log_rate(exponent, name: str = "learning rate", *, low: float, high: float) -> float:
    """A slider on log10(lr) -> lr to 3 significant digits (what the page shows); the slider's
    range [low, high] is checked again here."""
    return float(f"{10.0 ** number(exponent, f'log10 {name}', low=low, high=high):.3g}")


def choice(value, name: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise LosslabError(f"{name} == {_show(value)}: choose one of {', '.join(options)}.")
    return value


def flag(value) -> bool:
    """A checklist's value (a list of ticked options) or a plain boolean -> bool."""
    if isinstance(value, list | tuple):
        return len(value) > 0
    return value is True


def optimizers(value, *, limit: int = 8) -> list[str]:
    """The race's checklist: known optimizer names, no repeats, at least one."""
    if not isinstance(value, list | tuple):
        raise LosslabError(f"optimizers == {_show(value)}: must be a list of names.")
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
        raise LosslabError(f"click == {_show(value)}: expected a point with x and y.")
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
    """A typed expression (or built-in name) through the library's safe parser."""
    if not isinstance(text, str) or not text.strip():
        raise LosslabError(
            "the expression is empty: type a formula in x and y, e.g. x**2 + 3*y**2."
        )
    result = surface(text)
    if result.n_params != n_params:
        variables = "x and y" if n_params == 2 else "x"
        raise LosslabError(
            f"'{text.strip()[:60]}' has {result.n_params} variable(s); this page needs a "
            f"surface in {variables}."
        )
    return result


def stored_surface(text, *, n_params: int = 2) -> Surface:
    """A surface from the text kept in a page's store (sent back by the browser)."""
    if not isinstance(text, str):
        raise LosslabError("the page state is damaged: reload the page.")
    return surface_from_text(text, n_params=n_params)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
