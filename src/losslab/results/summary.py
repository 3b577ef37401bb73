"""Short reprs of results: the class name, the shapes of arrays and the headline numbers, never
the arrays themselves, whatever the result's size.

    compose("Spectrum", n_params=26, grid=shape(grid), lam=span(nodes))
        -> "Spectrum(n_params=26, grid=<200 float64>, lam=[-0.357, 0.95])"
    default_repr(result)   every field summarized: scalars and strings first, then the rest

A repr is at most MAX_LINES lines of about LINE_WIDTH characters and at most MAX_CHARS in all;
longer ones end in "...)".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

MAX_LINES = 6
MAX_CHARS = 600
LINE_WIDTH = 96  # 6 lines of 96 stay under MAX_CHARS: a cut falls between items
_TEXT = 60  # the most characters of a string shown
_ITEMS = 6  # the most numbers of a short sequence shown


def default_repr(result: Any) -> str:
    """`Name(field=summary, ...)` over the dataclass fields, headline scalars first."""
    fields = [(f.name, getattr(result, f.name)) for f in dataclasses.fields(result)]
    scalars = [(name, value) for name, value in fields if _is_scalar(value)]
    others = [(name, value) for name, value in fields if not _is_scalar(value)]
    return compose(type(result).__name__, **dict(scalars + others))


def compose(name: str, *positional: str, **parts: Any) -> str:
    """`name(positional..., key=summary(value), ...)`, wrapped at LINE_WIDTH and cut to
    MAX_LINES lines and MAX_CHARS characters. Positional items are shown as they are; so are
    values made by `raw`, `span`, `first` and `shape` (other strings are quoted)."""
    items = [*positional, *(f"{key}={summary(value)}" for key, value in parts.items())]
    lines, current = [], f"{name}("
    for index, item in enumerate(items):
        piece = item + (", " if index < len(items) - 1 else "")
        if len(current) + len(piece.rstrip()) > LINE_WIDTH and not current.endswith("("):
            lines.append(current.rstrip())
            current = "    "
        current += piece
    lines.append(current + ")")
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1].rstrip(",") + ", ...)"  # a cut line ends with its comma
    text = "\n".join(lines)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 4] + "...)"


class raw(str):  # noqa: N801 - used like a marker function: compose("X", grid=raw("3x3"))
    """Text shown as it is by `compose` (no quotes)."""

    __slots__ = ()


def summary(value: Any) -> str:
    """One short piece of text for any field value (see the module docstring)."""
    if isinstance(value, raw):
        return str(value)
    if isinstance(value, torch.Tensor | np.ndarray):
        return shape(value) if value.ndim else number(value.item())
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float | np.number):
        return number(value)
    if isinstance(value, str):
        return _text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        if len(value) <= _ITEMS:
            inner = ", ".join(f"{_text(str(k))}: {summary(v)}" for k, v in value.items())
            if len(inner) <= _TEXT:
                return "{" + inner + "}"
        return f"{{{len(value)} keys}}"
    if isinstance(value, Sequence):
        if len(value) <= _ITEMS:
            inner = ", ".join(summary(v) for v in value) + ("," if len(value) == 1 else "")
            if len(inner) <= _TEXT:
                return f"({inner})"
        kinds = sorted({_kind(v) for v in value})
        return f"({len(value)} {kinds[0] if len(kinds) == 1 else 'items'})"
    return f"<{type(value).__name__}>"


def number(value: Any) -> str:
    """A number in 4 significant digits: 0.8501, 1.2e-07, 12, nan."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def shape(array: torch.Tensor | np.ndarray) -> raw:
    """'<21x2 float64>'."""
    dims = "x".join(str(n) for n in array.shape) or "scalar"
    return raw(f"<{dims} {str(array.dtype).removeprefix('torch.')}>")


def span(array: torch.Tensor | np.ndarray | Sequence[float]) -> raw:
    """'[lo, hi]' over the finite entries, or '[]' when there are none."""
    values = np.asarray(
        array.detach().cpu().double() if isinstance(array, torch.Tensor) else array,
        dtype=np.float64,
    ).reshape(-1)
    finite = values[np.isfinite(values)]
    if not finite.size:
        return raw("[]")
    return raw(f"[{number(finite.min())}, {number(finite.max())}]")


def first(values: torch.Tensor | np.ndarray | Sequence[float], n: int = _ITEMS) -> raw:
    """'(0.85, 0.43)', or the first n of them and '...' ."""
    flat = (
        values.detach().cpu().reshape(-1).tolist()
        if isinstance(values, torch.Tensor)
        else np.asarray(values).reshape(-1).tolist()
    )
    shown = ", ".join(number(v) for v in flat[:n])
    return raw(f"({shown}{', ...' if len(flat) > n else ',' if len(flat) == 1 else ''})")


def _is_scalar(value: Any) -> bool:
    if isinstance(value, torch.Tensor | np.ndarray):
        return value.ndim == 0
    return value is None or isinstance(value, bool | int | float | str | np.number)


def _kind(value: Any) -> str:
    """What a long sequence holds, in the plural: numbers, strings, arrays, Trajectorys..."""
    if isinstance(value, torch.Tensor | np.ndarray) and value.ndim:
        return "arrays"
    if isinstance(value, str):
        return "strings"
    if _is_scalar(value):
        return "numbers"
    if isinstance(value, Sequence):
        return "sequences"
    return type(value).__name__ + "s"


def _text(value: str) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= _TEXT else value[: _TEXT - 3] + "...")
