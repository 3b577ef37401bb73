"""The symmetry page's network diagram: an MLP drawn as columns of nodes (inputs, hidden
layers, outputs) joined by one line per weight, coloured by its sign and as thick as its size.

The figure has a fixed trace order (tests and clicks rely on it): the edge traces first (one
per sign and thickness class, `N_EDGE_TRACES` in all, each possibly empty), then `NODES` (every
node, one point each, customdata [layer, position]), then `PICKED` (a ring around the neuron
picked for a swap, empty when none). Only the nodes take clicks and hovers; the edges are
`hoverinfo="skip"` so a tap near a node always lands on it.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from torch import nn

from losslab.plot import style
from losslab.web import theme

POSITIVE = "#c2410c"  # a positive weight: warm
NEGATIVE = "#1d4ed8"  # a negative weight: cool
WIDTHS_PX = (0.6, 1.4, 2.6, 4.2)  # line width per |weight| class (quartiles of this network)
N_EDGE_TRACES = 2 * len(WIDTHS_PX)
NODES = N_EDGE_TRACES
PICKED = N_EDGE_TRACES + 1
CELL = 0.3  # a tap this far (in column widths) from a column's centre still takes its node
NODE_PX = 34  # a node's diameter: a finger-sized target on a phone
RING_PX = 48
INPUT_NAMES = ("x\u2081", "x\u2082")
OUTPUT_NAMES = ("0", "1")  # the class each output scores
END_COLOUR = "#e5e7eb"  # input and output nodes: fixed, not swappable
HEIGHT = 440
NARROW_HEIGHT = 420


def positions(sizes: tuple[int, ...]) -> list[np.ndarray]:
    """Per column, (n, 2) node centres: column c at x = c, its nodes top to bottom, centred on
    y = 0 one unit apart."""
    out = []
    for column, n in enumerate(sizes):
        y = (n - 1) / 2 - np.arange(n)
        out.append(np.stack([np.full(n, float(column)), y], axis=1))
    return out


def node_at(sizes: tuple[int, ...], x: float, y: float) -> tuple[int, int] | None:
    """(column, position) of the node whose cell holds the diagram point (x, y): a cell
    reaches `CELL` of the way to the next column and half-way to the next node (a node's
    whole neighbourhood takes the tap); None outside every cell."""
    column = round(x)
    if not 0 <= column < len(sizes) or abs(x - column) > CELL:
        return None
    n = sizes[column]
    position = round((n - 1) / 2 - y)
    if not 0 <= position < n or abs((n - 1) / 2 - position - y) > 0.5:
        return None
    return column, position


def weights(model: nn.Module) -> list[np.ndarray]:
    """The (n_out, n_in) weight matrix of each Linear, in order."""
    return [m.weight.detach().double().numpy() for m in model if isinstance(m, nn.Linear)]


def diagram(
    model: nn.Module,
    names: list[list[str]],
    colours: list[list[str]],
    picked: tuple[int, int] | None,
    *,
    title: str = "",
    revision: int,
) -> go.Figure:
    """The network `model` (an MLP) as a diagram.

    names, colours: per column, each node's label and fill (the hidden neurons' identities,
    which move with them when they are swapped). picked: (layer, position) to ring, or None.
    title: a few words over the diagram (what the last tap did), left of the mode bar.
    """
    mats = weights(model)
    sizes = (mats[0].shape[1], *(w.shape[0] for w in mats))
    where = positions(sizes)
    every = np.concatenate([np.abs(w).ravel() for w in mats])
    cuts = np.quantile(every, [0.25, 0.5, 0.75]) if every.size else np.zeros(3)
    segments: dict[tuple[bool, int], list] = {
        (positive, k): [[], []] for positive in (True, False) for k in range(len(WIDTHS_PX))
    }
    for c, w in enumerate(mats):
        for i in range(w.shape[0]):  # to node i of column c + 1
            for j in range(w.shape[1]):  # from node j of column c
                value = w[i, j]
                k = int(np.searchsorted(cuts, abs(value)))
                xs, ys = segments[(bool(value >= 0), k)]
                xs += [where[c][j, 0], where[c + 1][i, 0], None]
                ys += [where[c][j, 1], where[c + 1][i, 1], None]
    traces = []
    for positive in (True, False):
        for k, width in enumerate(WIDTHS_PX):
            xs, ys = segments[(positive, k)]
            traces.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": POSITIVE if positive else NEGATIVE, "width": width},
                    opacity=0.55,
                    hoverinfo="skip",
                    showlegend=False,
                    meta=f"edges-{'positive' if positive else 'negative'}-{k}",
                )
            )
    xs, ys, text, fill, custom, hover = [], [], [], [], [], []
    last = len(sizes) - 1
    for c, column in enumerate(where):
        for p, (x, y) in enumerate(column):
            xs.append(x)
            ys.append(y)
            text.append(names[c][p])
            fill.append(colours[c][p])
            custom.append([c, p])
            if c == 0:
                hover.append(f"input {names[c][p]}")
            elif c == last:
                hover.append(f"output: class {names[c][p]}")
            else:
                hover.append(f"{names[c][p]} (hidden {c})")
    traces.append(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=text,
            textfont={"size": 13, "color": theme.INK},
            marker={
                "size": NODE_PX,
                "color": fill,
                "line": {"color": "#4b5563", "width": 1.2},
                "symbol": ["square" if c in (0, last) else "circle" for c, _ in custom],
            },
            customdata=custom,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            showlegend=False,
            meta="nodes",
        )
    )
    ring = [] if picked is None else [tuple(where[picked[0]][picked[1]])]
    traces.append(
        go.Scatter(
            x=[r[0] for r in ring],
            y=[r[1] for r in ring],
            mode="markers",
            marker={
                "size": RING_PX,
                "symbol": "circle-open",
                "color": style.TRAJECTORY_COLOUR,
                "line": {"width": 3.5},
            },
            hoverinfo="skip",
            showlegend=False,
            meta="picked",
        )
    )
    tallest = max(sizes)
    figure = go.Figure(traces)
    headings = ["inputs", *(f"hidden {c}" for c in range(1, last)), "classes"]
    figure.update_layout(
        theme.base_layout(
            margin={
                "l": 6,
                "r": 6,
                "t": 30,
                "b": 6,
            },  # t: the mode bar's row, clear of the headings
            dragmode=False,
            hovermode="closest",
            hoverdistance=NODE_PX,
            showlegend=False,
            datarevision=revision,
            uirevision="diagram",
            title={
                "text": title,
                "x": 0.02,
                "xanchor": "left",
                "y": 1,
                "yref": "container",
                "yanchor": "top",
                "pad": {"t": 8},
                "font": {"size": 14, "color": theme.INK},
            },
            annotations=[
                {
                    "x": c,
                    "y": (tallest - 1) / 2 + 0.55,
                    "xref": "x",
                    "yref": "y",
                    "text": heading,
                    "showarrow": False,
                    "yanchor": "bottom",
                    "font": {"size": 12, "color": theme.MUTED},
                }
                for c, heading in enumerate(headings)
            ],
        )
    )
    axis = {"visible": False, "fixedrange": True, "zeroline": False, "showgrid": False}
    figure.update_xaxes(axis, range=[-0.45, last + 0.45])
    figure.update_yaxes(axis, range=[-(tallest - 1) / 2 - 0.6, (tallest - 1) / 2 + 0.95])
    return figure
