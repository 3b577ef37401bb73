"""Save a figure by extension: matplotlib -> .png/.svg/.pdf, plotly -> self-contained .html.

Files are written through `losslab.io.atomic_open`: a failure while rendering leaves no file
(not even a partial one). The HTML embeds plotly.js (about 5 MB) so it opens offline; it never
points at a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from losslab.errors import LosslabError
from losslab.io import atomic_open, check_writable

FORMATS = {".png", ".svg", ".pdf", ".html", ".json"}  # .json: written by the CLI, not here
MATPLOTLIB_FORMATS = (".png", ".svg", ".pdf")
PLOTLY_FORMATS = (".html",)
PNG_DPI = 150


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write `fig` to `path`; the extension picks the format. Returns the Path.

    fig: a matplotlib Figure (or an Axes, whose figure is saved) for .png/.svg/.pdf, or a
        plotly Figure for .html.
    Raises LosslabError, before anything is written, for an unknown extension, a figure
    kind that cannot be written in that format, or a folder that cannot be written.
    """
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
    check_writable(path)
    if kind == "matplotlib":
        with atomic_open(path, "wb") as handle:
            figure.savefig(handle, format=suffix[1:], dpi=PNG_DPI)
    else:
        # Render first, write second: to_html cannot fail half-way through the file.
        html = figure.to_html(include_plotlyjs=True, full_html=True)
        with atomic_open(path, "w") as handle:
            handle.write(html)
    return path


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
