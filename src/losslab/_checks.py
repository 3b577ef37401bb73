"""Argument checks shared by the library: one readable line per failure, sklearn style."""

from __future__ import annotations

import math

from losslab.errors import LosslabError


def check_positive(name: str, value: float) -> float:
    """`lr == -0.1, must be > 0.` for anything that is not a finite number above zero."""
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise LosslabError(f"{name} == {value!r}, must be a finite number > 0.")
    return float(value)


def check_non_negative(name: str, value: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise LosslabError(f"{name} == {value!r}, must be a finite number >= 0.")
    return float(value)


def check_fraction(name: str, value: float) -> float:
    """A decay rate: 0 <= value < 1."""
    if not isinstance(value, int | float) or not 0 <= value < 1:
        raise LosslabError(f"{name} == {value!r}, must be in [0, 1).")
    return float(value)


def check_count(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise LosslabError(f"{name} == {value!r}, must be an integer >= {minimum}.")
    return value
