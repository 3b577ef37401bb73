"""Renderers for losslab results: `static` (matplotlib), `interactive` (plotly), `export`.

Both renderers offer the same functions under the same names (landscape, contour, surface_3d,
curve_1d, basin_map, hessian_view, loss_curves, race), so a caller picks one by output format
and draws with the same call. Submodules load on first use, so importing `losslab.plot` alone
imports neither matplotlib nor plotly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from losslab.plot import export, interactive, static

__all__ = ["export", "interactive", "static"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"losslab.plot.{name}")
    raise AttributeError(f"module 'losslab.plot' has no attribute {name!r}")
