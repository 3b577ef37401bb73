"""Pure parsing of command-line text: points, optimizer lists and output paths.

Every function takes strings and returns plain values, or raises `LosslabError` with one line
that says what was given, what is allowed and how to fix it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

from losslab.errors import LosslabError
from losslab.results.codec import H5_SUFFIXES, JSON_SUFFIXES

FIGURE_FORMATS = (".png", ".svg", ".pdf", ".html")
DATA_FORMATS = JSON_SUFFIXES + H5_SUFFIXES  # the numbers: result.save picks by suffix
ALL_FORMATS = FIGURE_FORMATS + DATA_FORMATS

# `key=value` with no ':' before the '=': a hyperparameter of the optimizer named before it.
_HYPERPARAMETER = re.compile(r"^\s*[A-Za-z_]\w*\s*=")


def parse_point(text: str, n_params: int, *, name: str = "start") -> tuple[float, ...]:
    """'-1.5,2' -> (-1.5, 2.0) for a 2-D surface; '0.3' -> (0.3,) for a 1-D one.

    Coordinates are separated by commas (spaces are also accepted); surrounding brackets
    such as '(1, 2)' are ignored. Each coordinate must be a finite number.
    """
    example = "-1.5" if n_params == 1 else ",".join(["-1.5", "2", "0.5"][:n_params])
    shape = "X" if n_params == 1 else ",".join("XYZ"[:n_params])
    how = f"write {shape}, e.g. --{name} {example}"
    stripped = text.strip().strip("()[]").strip()
    parts = [part for part in re.split(r"[,\s]+", stripped) if part] if stripped else []
    if len(parts) != n_params:
        raise LosslabError(
            f"{name} == {text!r} has {len(parts)} coordinate(s), the surface has {n_params}: {how}."
        )
    coords = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise LosslabError(f"{name} == {text!r}: {part!r} is not a number; {how}.") from None
        if not math.isfinite(value):
            raise LosslabError(f"{name} == {text!r}: every coordinate must be finite; {how}.")
        coords.append(value)
    return tuple(coords)


def split_optimizer_specs(texts: Iterable[str]) -> list[str]:
    """['gd,momentum:beta=0.95,lr=0.01', 'newton'] -> ['gd', 'momentum:beta=0.95,lr=0.01',
    'newton'].

    Items are separated by commas. An item of the form `key=value` is one more hyperparameter
    of the optimizer before it; any other item (`newton`, `adam:lr=0.1`) starts a new
    optimizer. Each text may hold several optimizers, and the option may be repeated.
    """
    specs: list[str] = []
    for text in texts:
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            if _HYPERPARAMETER.match(item):
                if not specs:
                    raise LosslabError(
                        f"optimizers == {text!r}: hyperparameter {item!r} comes before any "
                        f"optimizer name; write e.g. 'momentum:beta=0.95,lr=0.01,newton'."
                    )
                separator = "," if ":" in specs[-1] else ":"
                specs[-1] = f"{specs[-1]}{separator}{item}"
            else:
                specs.append(item)
    if not specs:
        raise LosslabError("no optimizer given: write e.g. --optimizers gd,momentum,newton.")
    return specs


def output_format(path: str | Path, allowed: Iterable[str] = ALL_FORMATS) -> str:
    """'race.PNG' -> '.png', or a LosslabError naming the extensions that are allowed."""
    allowed = tuple(allowed)
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        given = f"extension {suffix!r}" if suffix else "no extension"
        raise LosslabError(f"cannot write '{path}': {given}; use one of {', '.join(allowed)}.")
    return suffix
