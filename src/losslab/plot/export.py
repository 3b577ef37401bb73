"""Save a figure by extension: matplotlib -> .png/.svg/.pdf, plotly -> self-contained .html.

Figures are rendered straight into the temporary file of `losslab.io.atomic_path`: a failure
while rendering or writing (a full disk) leaves no file, not even a partial one, and a failed
write is one WriteError line naming the path. The HTML embeds plotly.js (about 5 MB) so it
opens offline; it never points at a CDN.
"""

from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Any

from losslab.errors import LosslabError
from losslab.io import atomic_path

FORMATS = {".png", ".svg", ".pdf", ".html", ".json"}  # .json: written by the CLI, not here
MATPLOTLIB_FORMATS = (".png", ".svg", ".pdf")
PLOTLY_FORMATS = (".html",)
PNG_DPI = 150  # the default: a 6.4 x 4.8 in Axes is 960 x 720 px
DPI_RANGE = (50, 1200)  # below 50 text is unreadable; 1200 is more than any printer resolves


def save_figure(fig: Any, path: str | Path, *, dpi: int = PNG_DPI) -> Path:
    """Write `fig` to `path`; the extension picks the format. Returns the Path.

    fig: a matplotlib Figure (or an Axes, whose figure is saved) for .png/.svg/.pdf, or a
        plotly Figure for .html.
    dpi: pixels per inch of a .png (a W x H inch figure is round(W*dpi) x round(H*dpi) px),
        in DPI_RANGE; in a .svg/.pdf only the rasterized parts (a 3-D surface's facets) are
        drawn at it, everything else stays vector.
    Raises LosslabError, before anything is written, for an unknown extension, a figure
    kind that cannot be written in that format, a dpi outside DPI_RANGE, or a folder that
    cannot be written.
    """
    dpi = check_dpi(dpi)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS - {".json"}:
        allowed = ", ".join(sorted(FORMATS - {".json"}))
        hint = (
            " (.json is written by the CLI from the numbers, not from a figure)"
            if suffix == ".json"
            else ""
        )
        raise LosslabError(
            f"cannot save a figure as '{path.name}': extension '{suffix or '(none)'}' is not "
            f"one of {allowed}{hint}."
        )
    kind, figure = _figure_kind(fig)
    allowed_here = MATPLOTLIB_FORMATS if kind == "matplotlib" else PLOTLY_FORMATS
    if suffix not in allowed_here:
        raise LosslabError(
            f"cannot save a {kind} figure as '{suffix}': a {kind} figure can be saved as "
            f"{', '.join(allowed_here)}."
            + (
                " Draw it with losslab.plot.interactive for .html."
                if kind == "matplotlib"
                else " Draw it with losslab.plot.static for .png/.svg/.pdf."
            )
        )
    with atomic_path(path) as tmp:  # checks the folder before anything is drawn
        if kind == "matplotlib":
            figure.savefig(tmp, format=suffix[1:], dpi=dpi)
        else:
            figure.write_html(tmp, include_plotlyjs=True, full_html=True)
    return path


def check_dpi(dpi: Any) -> int:
    """`dpi` if it is a whole number in DPI_RANGE, else a LosslabError that says so."""
    lo, hi = DPI_RANGE
    if isinstance(dpi, bool) or not isinstance(dpi, Integral) or not lo <= dpi <= hi:
        raise LosslabError(
            f"dpi == {dpi!r}: give a whole number of pixels per inch from {lo} to {hi} "
            f"(default {PNG_DPI}; 300 is usual for print)."
        )
    return int(dpi)


def _figure_kind(fig: Any) -> tuple[str, Any]:
    """('matplotlib', Figure) or ('plotly', go.Figure); imports only the library `fig` is from."""
    module = type(fig).__module__
    if module.startswith(("matplotlib", "mpl_toolkits")):  # 3-D Axes live in mpl_toolkits
        from matplotlib.artist import Artist
        from matplotlib.figure import Figure

        # An Axes or a SubFigure: climb to the Figure that owns the canvas.
        for _ in range(8):
            if isinstance(fig, Figure) or not isinstance(fig, Artist):
                break
            fig = fig.figure
        if isinstance(fig, Figure):
            return "matplotlib", fig
    elif module.startswith("plotly"):
        import plotly.graph_objects as go

        if isinstance(fig, go.Figure):
            return "plotly", fig
    raise LosslabError(
        f"fig is a {type(fig).__name__}: give a matplotlib Figure (or Axes) or a plotly "
        f"Figure, e.g. from losslab.plot.static or losslab.plot.interactive."
    )
