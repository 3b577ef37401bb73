"""Rich renderables for results: tables and panels, built from plain results, printed by the
commands. Nothing here computes; each function turns a result into text."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from losslab import dust
from losslab.attraction import DIVERGED, NO_MINIMUM, BasinMap
from losslab.curvature import CriticalPoint
from losslab.descent import Trajectory
from losslab.diagnosis import Diagnosis
from losslab.objectives import Surface

_PLURALS = {"minimum": "minima", "maximum": "maxima", "saddle": "saddles"}
_STATUS_STYLES = {"converged": "green", "diverged": "red", "max_steps": "yellow"}
_KIND_STYLES = {  # as on the web pages: green only for a minimum
    "minimum": "green",
    "saddle": "yellow",
    "maximum": "yellow",
    "stalled": "yellow",
    "overshoot": "red",
    "escape": "red",
    "running": "",
}


PIPED_WIDTH = 200  # columns of output to a file or a pipe


def console() -> Console:
    """A console on the current stdout (tests swap sys.stdout, so never cache one).

    Output to a file or a pipe has no screen to fit: rich would assume 80 columns and cut
    the numbers of a wide table to '0.04611...', so it gets PIPED_WIDTH (COLUMNS still rules
    when set). A terminal keeps its own width."""
    probe = Console(highlight=False)
    if probe.is_terminal or "COLUMNS" in os.environ:
        return probe
    return Console(highlight=False, width=PIPED_WIDTH)


def number(value: float, digits: int = 6) -> str:
    """A short number: 6 significant digits, no '-0', float dust (|v| <= 1e-12) as 0."""
    return f"{dust.scalar(value):.{digits}g}"


def point(values: Iterable[float], digits: int = 6) -> str:
    """'(x, y)' with short numbers, coordinates below 1e-9 of the point's scale as 0
    (`losslab.dust`); a 1-D point is '(x)'."""
    return "(" + ", ".join(f"{v:.{digits}g}" for v in dust.point(values)) + ")"


def _kind_text(found: CriticalPoint) -> str:
    """The kind, and for a 'regular' point that it is not critical and why."""
    if found.kind != "regular":
        return found.kind
    grad = float(torch.linalg.vector_norm(found.gradient))
    return f"regular: not a critical point (|gradient| = {number(grad, 4)} is not 0)"


def _numbers(values: Iterable[float], digits: int = 6) -> str:
    """'(a, b)' exactly as given (the caller has removed the dust by the right rule)."""
    return "(" + ", ".join(f"{float(v) + 0.0:.{digits}g}" for v in values) + ")"


def matrix(rows: torch.Tensor, digits: int = 6) -> str:
    """A small matrix as aligned rows of short numbers, one row per line; entries below 1e-9
    of the largest print as 0."""
    n = rows.shape[-1]
    flat = dust.point(rows.flatten().tolist())
    cells = [[f"{v:.{digits}g}" for v in flat[i : i + n]] for i in range(0, len(flat), n)]
    width = max(len(cell) for row in cells for cell in row)
    return "\n".join("[" + "  ".join(cell.rjust(width) for cell in row) + "]" for row in cells)


def surfaces_table(surfaces: Sequence[Surface]) -> Table:
    table = Table(title="built-in surfaces", title_justify="left")
    for column in ("name", "dims", "minima", "description", "formula"):
        table.add_column(column, overflow="fold")
    for surface in surfaces:
        name = surface.name
        if surface.hyperparameters:
            options = ",".join(f"{k}={v:g}" for k, v in surface.hyperparameters.items())
            name = f"{name}\n[dim]:{options}[/dim]"
        table.add_row(
            name,
            str(surface.n_params),
            str(len(surface.minima)),
            surface.description,
            surface.formula,
        )
    return table


def nearest_minimum_distance(surface: Surface, at: torch.Tensor) -> float | None:
    """Euclidean distance from `at` (n,) to the closest known minimum, None if none known."""
    if not len(surface.minima):
        return None
    return float(torch.linalg.vector_norm(surface.minima - at, dim=-1).min())


def runs_table(
    surface: Surface,
    trajectories: Sequence[Trajectory],
    start: Sequence[float],
    diagnoses: Sequence[Diagnosis] | None = None,
) -> Table:
    """One row per run: where it stopped, how, and how far from the nearest known minimum
    ('-' when the surface has none). Numbers have 4 significant digits to fit 80 columns.
    With `diagnoses` the status is coloured by kind: green only for a minimum (Newton's
    'converged' at a saddle is yellow)."""
    table = Table(title=f"{surface.name} from {point(start)}", title_justify="left")
    table.add_column("optimizer", overflow="fold")
    table.add_column("status")
    table.add_column("steps", justify="right")
    table.add_column("final loss", justify="right", no_wrap=True)
    table.add_column("final point", overflow="fold")
    table.add_column("to minimum", justify="right", no_wrap=True)
    for i, run in enumerate(trajectories):
        final = run.params[-1]
        distance = nearest_minimum_distance(surface, final)
        style = _KIND_STYLES[diagnoses[i].kind] if diagnoses else _STATUS_STYLES.get(run.status, "")
        status = Text(run.status, style=style)
        table.add_row(
            run.label,
            status,
            str(run.stopped_at),
            number(run.final_loss, 4),
            point(final, 4),
            "-" if distance is None else number(distance, 3),
        )
    return table


def diagnoses_view(trajectories: Sequence[Trajectory], diagnoses: Sequence[Diagnosis]) -> Group:
    """One line per run: its label, then why it ended (`losslab.diagnose`'s sentence)."""
    lines = []
    for run, found in zip(trajectories, diagnoses, strict=True):
        line = Text(f"{run.label}: ", style="bold")
        line.append(found.reason, style=_KIND_STYLES[found.kind])
        lines.append(line)
    return Group(*lines)


def critical_point_view(found: CriticalPoint) -> Table:
    """Everything `inspect` knows about one point, as a two-column table."""
    table = Table(
        title=f"{found.objective} at {point(found.point)}", title_justify="left", show_header=False
    )
    table.add_column("quantity", style="bold")
    table.add_column("value")
    lams = found.eigenvalues.tolist()
    rows = [
        ("kind", Text(_kind_text(found), style="bold")),
        ("curvature", found.curvature),
        ("point", point(found.point)),
        ("value", number(found.value)),
        ("gradient", point(found.gradient)),
        ("Hessian", matrix(found.hessian)),
        ("eigenvalues", _numbers(dust.spectrum(lams))),
        ("eigenvectors (columns)", matrix(found.eigenvectors)),
        ("trace", number(dust.trace(found.trace, lams))),
        ("det", number(dust.determinant(found.det, lams))),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def kind_counts(points: Sequence[CriticalPoint]) -> str:
    """'4 minima, 4 saddles, 1 maximum' in the order the points are sorted."""
    counts = Counter(p.kind for p in points)
    if not counts:
        return "no critical points found in the window"
    return ", ".join(
        f"{n} {kind if n == 1 else _PLURALS.get(kind, kind)}" for kind, n in counts.items()
    )


def critical_table(surface: Surface, points: Sequence[CriticalPoint]) -> Group:
    table = Table(title=f"critical points of {surface.name} in its window", title_justify="left")
    for column in ("kind", "point", "value", "eigenvalues"):
        table.add_column(column, overflow="fold")
    for found in points:
        table.add_row(found.kind, point(found.point), number(found.value), point(found.eigenvalues))
    return Group(table, Text(kind_counts(points)))


def basins_table(basin_map: BasinMap, seconds: float) -> Group:
    """Share of starts per basin: one row per known minimum, then the runs that ended
    elsewhere or diverged; and how long the map took."""
    n_starts = basin_map.labels.numel()
    table = Table(
        title=f"basins of {basin_map.objective} under {basin_map.optimizer}", title_justify="left"
    )
    table.add_column("basin")
    table.add_column("ends at", overflow="fold")
    table.add_column("share", justify="right")
    fractions = basin_map.fractions()
    for index, minimum in enumerate(basin_map.minima):
        table.add_row(
            str(index), f"minimum {point(minimum)}", f"{100 * fractions.get(index, 0.0):.1f}%"
        )
    for label, what in ((NO_MINIMUM, "no known minimum"), (DIVERGED, "diverged")):
        if label in fractions:
            table.add_row(str(label), what, f"{100 * fractions[label]:.1f}%")
    timing = f"{n_starts} starts x {basin_map.n_steps} steps in {seconds:.2f} s"
    return Group(table, Text(timing))


def files_list(paths: Sequence[Path], seconds: float) -> Group:
    lines = [Text(f"  - {path}") for path in paths]
    return Group(Text(f"wrote {len(paths)} files in {seconds:.1f} s:"), *lines)
