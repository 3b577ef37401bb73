"""Argument checks shared by the whole library, in scikit-learn's `check_scalar` style.

One rule per kind of argument, one message shape: "lr == -0.1, must be a finite number > 0."
A value of the wrong type (a string, a bool where a number goes) raises `ArgumentTypeError`
(a TypeError); a value out of range raises `LosslabError` (a ValueError). Callers use these
and never write the test by hand, so the same argument is checked by the same rule everywhere.
"""

from __future__ import annotations

import math
import numbers

from losslab.errors import ArgumentTypeError, LosslabError

SEED_LIMIT = 2**32  # numpy and torch generators both accept seeds in [0, 2**32)
# A learning rate above this moves a point 10^6 times its gradient in one step: it diverges
# at once, and near float32's limit (3.4e38) the step itself overflows (lr 1e308 cannot even
# be cast). One cap for the surfaces' optimizers and the networks' trainers.
MAX_LR = 1e6


def check_scalar(
    name: str,
    value,
    kind: type = float,
    *,
    low: float | None = None,
    high: float | None = None,
    include_low: bool = True,
    include_high: bool = True,
):
    """`value` as `kind` (int or float), finite, within [low, high] (or open ends).

    bools are refused as numbers; ints are accepted where floats go (and returned as float).
    """
    integral = kind is int
    wanted = "an integer" if integral else "a finite number"
    allowed = numbers.Integral if integral else numbers.Real
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise ArgumentTypeError(
            f"{name} == {value!r}, must be {wanted}{_range(low, high, include_low, include_high)}."
        )
    value = int(value) if integral else float(value)
    too_low = low is not None and (value < low if include_low else value <= low)
    too_high = high is not None and (value > high if include_high else value >= high)
    if not math.isfinite(value) or too_low or too_high:
        raise LosslabError(
            f"{name} == {value!r}, must be {wanted}{_range(low, high, include_low, include_high)}."
        )
    return value


def _range(low, high, include_low: bool, include_high: bool) -> str:
    if low is not None and high is not None:
        left, right = "[" if include_low else "(", "]" if include_high else ")"
        return f" in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f" {'>=' if include_low else '>'} {low:g}"
    if high is not None:
        return f" {'<=' if include_high else '<'} {high:g}"
    return ""


def check_positive(name: str, value) -> float:
    """`lr == -0.1, must be a finite number > 0.`"""
    return check_scalar(name, value, float, low=0, include_low=False)


def check_lr(value, name: str = "lr") -> float:
    """`lr == 1e+308, must be a finite number in (0, 1e+06].`"""
    return check_scalar(name, value, float, low=0, high=MAX_LR, include_low=False)


def check_non_negative(name: str, value) -> float:
    return check_scalar(name, value, float, low=0)


def check_fraction(name: str, value) -> float:
    """A decay rate: 0 <= value < 1."""
    return check_scalar(name, value, float, low=0, high=1, include_high=False)


def check_count(name: str, value, minimum: int = 1) -> int:
    return check_scalar(name, value, int, low=minimum)


def check_seed(value, name: str = "seed") -> int:
    """A reproducible seed: an integer in [0, 2**32), the range every generator accepts."""
    return check_scalar(name, value, int, low=0, high=SEED_LIMIT, include_high=False)
