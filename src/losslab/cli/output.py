"""Output files: check the path before any work, then write a figure by its extension.

Results are saved by the library (`result.save(path)`, JSON or HDF5 by the suffix), so every
file a command writes loads back with `losslab.load_result`. A figure is drawn lazily, so
only the renderer that the extension needs is imported: matplotlib for .png/.svg/.pdf,
plotly for .html.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any

from losslab.cli.parsing import ALL_FORMATS, DATA_FORMATS, output_format
from losslab.errors import LosslabError
from losslab.io import check_writable
from losslab.results import Result

# The --dpi of the command being run: set by the option's callback (options.DpiOpt) while the
# arguments are parsed, read by save_drawn, so each command only declares the option. A context
# variable, not a module global: a command run on another thread or context (tests' CliRunner,
# a server) sees its own value, and the callback sets it on every call, default included.
_figure_dpi: ContextVar[int | None] = ContextVar("figure_dpi", default=None)


def use_dpi(dpi: int | None) -> int | None:
    """Typer callback of --dpi: check it (one line naming the range) and remember it for
    every figure this command saves."""
    import typer

    from losslab.plot.export import check_dpi

    if dpi is not None:
        try:
            check_dpi(dpi)
        except LosslabError as error:
            raise typer.BadParameter(str(error)) from None
    _figure_dpi.set(dpi)
    return dpi


def check_output(path: Path | None, allowed: tuple[str, ...] = ALL_FORMATS) -> Path | None:
    """Fail before computing when `path` has a wrong extension or cannot be written."""
    if path is None:
        return None
    output_format(path, allowed)
    return check_writable(path)


def write_output(path: Path, result: Result, draw: Callable[[ModuleType], Any]) -> Path:
    """The numbers for .json/.h5/.hdf5 (`result.save`, loadable with `losslab.load_result`),
    else the figure `draw(plot)` (see write_figure)."""
    if path.suffix.lower() in DATA_FORMATS:
        return result.save(path)
    return write_figure(path, draw)


def write_figure(path: Path, draw: Callable[[ModuleType], Any]) -> Path:
    """Draw with `draw(plot)` and save: `plot` is `losslab.plot.static` for .png/.svg/.pdf and
    `losslab.plot.interactive` for .html; both offer the same functions under the same names.
    """
    if path.suffix.lower() == ".html":
        from losslab.plot import interactive as plot
    else:
        from losslab.plot import static as plot
    return save_drawn(draw(plot), path)


def save_drawn(drawn: Any, path: Path) -> Path:
    """Save a plotly Figure, or a matplotlib Figure or Axes (the static renderers never
    register figures with pyplot, so there is nothing to close afterwards)."""
    from losslab.plot.export import PNG_DPI, save_figure

    dpi = _figure_dpi.get()
    return save_figure(drawn, path, dpi=PNG_DPI if dpi is None else dpi)
