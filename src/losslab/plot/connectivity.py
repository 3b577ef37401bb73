"""Scene builders for paths between two models and for width sweeps (results in, Scene out).

    profile_scene([("before alignment", line, "before"), ("after", aligned, "after")])
    plane_scene(plane_landscape, bezier)         Garipov et al. 2018, Fig. 1: the loss on the
                                                 plane through A, B and the control point
    width_scene(sweep)                           one small panel per figure, +-1 sd whiskers

A path is a `losslab.connectivity.Path` (t (n,), values {metric: (n,)}, barrier, anchors);
a sweep a `WidthSweep` (widths (W,), samples {figure: (W, S)}, mean, sd). Nothing here
evaluates a model: the plane's loss comes as a Landscape the caller computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from losslab.errors import LosslabError
from losslab.plot import style
from losslab.plot.scene import (
    Axis,
    ColourScale,
    Field,
    LegendEntry,
    Markers,
    Panel,
    Path,
    Scene,
    number,
)

PROFILE_SIZE = (5.6, 4.6)  # per metric panel
PLANE_SIZE = (7.0, 5.8)
PLANE_AXES_WIDTH = 5.2  # inches of a plane figure's width that its axes take
LEGEND_DARK = "#333333"  # a white line's legend entry
WIDTH_PANEL = (3.3, 3.0)  # one small multiple
WIDTH_COLUMNS = 4
T_LABEL = "t (0: model A, 1: model B)"
METRIC_ORDER = ("loss", "accuracy")

# -- metrics along paths ------------------------------------------------------------------------


def profile_scene(entries: Sequence[tuple[str, object, str]], *, title: str = "") -> Scene:
    """Metrics along paths: one panel per metric (loss, then accuracy when every path has it),
    one line per path with a dot per evaluated t, and dashed the straight line between its
    two end values: the barrier is the largest gap between the two (loss above the dashed
    line, accuracy below it).

    entries: (label, Path, colour key in style.CONNECT_COLOURS or a '#rrggbb' colour).
    """
    if not entries:
        raise LosslabError("profile_scene needs at least one path.")
    metrics = [m for m in METRIC_ORDER if all(m in path.values for _, path, _ in entries)]
    if not metrics:
        raise LosslabError("the paths share no metric to draw (loss or accuracy).")
    panels = tuple(_profile_panel(entries, metric) for metric in metrics)
    if len(panels) == 1 and title:  # one panel: the scene's title takes the panel's place
        title = f"{title}: {panels[0].title}"
    width, height = PROFILE_SIZE
    return Scene(panels, title=title, size=(width * len(panels), height + 0.6))


def _profile_panel(entries, metric: str) -> Panel:
    items: list = []
    for label, path, colour in entries:
        t = _array(path.t)
        v = _array(path.values[metric])
        paint = style.CONNECT_COLOURS.get(colour, colour)
        barrier = path.barrier.get(metric)
        text = label if barrier is None else f"{label}: barrier {number(barrier, 3)}"
        items.append(
            Path(t, v, style="connect", colour=paint, label=text, group=label, name="path")
        )
        items.append(
            Path(
                np.array([t[0], t[-1]]),
                np.array([v[0], v[-1]]),
                style="chord",
                colour=paint,
                show_legend=False,
                group=label,
                name="chord",
            )
        )
    items.append(LegendEntry("straight line between the end values", "line", "chord", "grey"))
    return Panel(
        "chart",
        tuple(items),
        title=f"{metric} along the path",
        x=Axis(T_LABEL, (-0.02, 1.02)),
        y=Axis(metric),
        legend="below",
        grid=True,
    )


# -- the plane through A, B and the control point -----------------------------------------------


def plane_scene(landscape, bezier, *, log: bool = True, title: str | None = None) -> Scene:
    """The loss on the plane through model A, model B and the Bezier control point (the
    landscape's slice: origin A, orthonormal directions from b - a and c - a), with the three
    points marked, the straight line A-B dashed and the quadratic Bezier curve, which lies
    exactly in that plane: B(t) = (1-t)^2 A + 2t(1-t) C + t^2 B, drawn from the projected
    anchors (projection is affine, so the projected curve is the curve of the projections).

    landscape: a 2-D Landscape of that plane; bezier: the Path (anchors (3, n): A, B, C).
    log: colour by log10 of the loss (the valley and the hills both show).
    """
    if len(landscape.coords) != 2:
        raise LosslabError(
            f"plane_scene draws a 2-D landscape; this one has {len(landscape.coords)} axes."
        )
    anchors = _array(bezier.anchors)
    if anchors.ndim != 2 or anchors.shape[0] != 3:
        raise LosslabError(
            f"plane_scene needs a Bezier path (anchors A, B, control); got anchors of shape "
            f"{anchors.shape}."
        )
    a, b, c = landscape.project(anchors)  # (2,) each
    t = np.linspace(0.0, 1.0, 101)[:, None]
    curve = (1 - t) ** 2 * a + 2 * t * (1 - t) * c + t**2 * b  # (101, 2)
    x, y = (np.asarray(v, dtype=np.float64) for v in landscape.coords)
    values = np.asarray(landscape.values["loss"], dtype=np.float64)
    field = Field(x, y, values, "filled", ColourScale.of(values, log, "loss"), value_name="loss")
    line_x, line_y = np.array([a[0], b[0]]), np.array([a[1], b[1]])
    items = [
        field,
        Path(line_x, line_y, style="plane-line", label="straight line", name="line"),
        Path(curve[:, 0], curve[:, 1], style="plane-curve", label="Bezier curve", name="bezier"),
    ]
    # The lines are white to read on the map; their legend entries are drawn dark.
    items = [replace(i, show_legend=False) if isinstance(i, Path) else i for i in items]
    items += [
        LegendEntry("straight line", "line", "plane-line", LEGEND_DARK),
        LegendEntry("Bezier curve", "line", "plane-curve", LEGEND_DARK),
    ]
    for i, (point, label, name) in enumerate(
        ((a, "model A", "model-a"), (b, "model B", "model-b"), (c, "control point", "control"))
    ):
        items.append(
            Markers(point[:1], point[1:], style=style.anchor_style(i), label=label, name=name)
        )
    width, height = np.ptp(x), np.ptp(y)
    equal = bool(height > 0 and 1 / 3 <= width / height <= 3)
    panel = Panel(
        "plane",
        tuple(items),
        title=title or "loss on the plane through A, B and the Bezier control point",
        x=Axis("along b - a (parameter distance)", (float(x[0]), float(x[-1]))),
        y=Axis("toward the control point (orthogonal)", (float(y[0]), float(y[-1]))),
        equal=equal,
    )
    # Under equal units the figure takes the plane's shape, not a fixed one with blank bands.
    shape = height / width if equal else PLANE_SIZE[1] / PLANE_SIZE[0]
    size = (PLANE_SIZE[0], float(np.clip(PLANE_AXES_WIDTH * shape + 1.7, 3.6, 8.0)))
    return Scene((panel,), size=size)


# -- width sweeps -------------------------------------------------------------------------------

# Panel -> (figure, label) lines drawn in it, in order; a panel whose figures the sweep lacks
# is left out (accuracy of a regression).
WIDTH_PANELS = (
    ("final loss", (("loss", "loss"),)),
    ("final accuracy", (("accuracy", "accuracy"),)),
    (
        "loss barrier between seeds",
        (("barrier_before", "before matching"), ("barrier_after", "after matching")),
    ),
    (
        "accuracy barrier (drop)",
        (
            ("barrier_accuracy_before", "before matching"),
            ("barrier_accuracy_after", "after matching"),
        ),
    ),
    ("top Hessian eigenvalue", (("top_eigenvalue", "top eigenvalue"),)),
    ("non-convex share of a 2-D slice", (("nonconvex_share", "non-convex share"),)),
    ("roughness of a 2-D slice", (("roughness", "roughness"),)),
)


def width_scene(sweep, *, title: str | None = None) -> Scene:
    """One small panel per figure of a WidthSweep against width (log axis): the mean over
    seeds with whiskers of +-1 sd (ddof 1) between seeds; the barriers before and after
    weight matching share a panel. A figure that is not finite at a width leaves a gap."""
    widths = _array(sweep.widths)
    n_seeds = len(np.asarray(sweep.seeds).reshape(-1))
    panels = []
    listed: set[str] = set()  # a label (before/after matching) in the legend once
    for heading, lines in WIDTH_PANELS:
        present = [(f, label) for f, label in lines if f in sweep.samples]
        if not present:
            continue
        items = []
        for i, (figure, label) in enumerate(present):
            sd = _array(sweep.sd(figure)) if n_seeds > 1 else None
            items.append(
                Path(
                    widths,
                    _array(sweep.mean(figure)),
                    style="width",
                    colour=style.WIDTH_COLOURS[i % len(style.WIDTH_COLOURS)],
                    label=label,
                    show_legend=len(present) > 1 and label not in listed,
                    group=label,
                    name=figure,
                    errors=sd,
                )
            )
            if len(present) > 1:
                listed.add(label)
        panels.append(
            Panel(
                "chart",
                tuple(items),
                title=heading,
                x=Axis("width", None, "log"),
                y=Axis(""),
                legend="below" if any(i.show_legend for i in items) else "none",
                grid=True,
            )
        )
    if not panels:
        raise LosslabError("the width sweep holds none of the figures width_scene draws.")
    columns = min(WIDTH_COLUMNS, len(panels))
    rows = -(-len(panels) // columns)
    spread = "" if n_seeds > 1 else " (one seed: no spread)"
    heading = title or f"against width: mean \u00b1 1 sd over {n_seeds} seeds{spread}"
    size = (WIDTH_PANEL[0] * columns, WIDTH_PANEL[1] * rows + 0.5)
    return Scene(tuple(panels), title=heading, size=size, columns=columns)


def _array(values) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)
