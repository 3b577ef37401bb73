"""The opening of the neural page: the bowl against the mountains, turning side by side.

Linear regression's convex MSE bowl beside a deep tanh network's slice (`losslab.contrast`), as
two 3-D graphs that rotate together in the browser (assets/losslab_spin.js): the server sends
the two figures once, the WebGL view turns in a requestAnimationFrame loop (one
`Plotly.relayout` on pause keeps the camera where it stopped), and no frame asks the server
anything. A button pauses and plays both; the rotation starts
paused for a visitor who prefers reduced motion, waits while the tab is hidden, and pauses when
the visitor takes a graph in hand (a drag turns it their way; Play resumes from there).

The surfaces are computed once per server process (`networks.contrast`, memoized, and primed at
start-up with the page's other opening callbacks), so the figures cost nothing per visit and
the page's first paint never waits for them: they arrive by their own callback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dash import Input, Output, dcc, html

from losslab.contrast import Contrast
from losslab.errors import LosslabError
from losslab.plot.contrast import contrast_scene, share_text
from losslab.plot.scene import Scene
from losslab.web import components as ui
from losslab.web import figures, networks, parse
from losslab.web.page import Ids
from losslab.web.pages import _shared as shared

ID = Ids("neural-contrast")
GRAPHS = (ID.bowl, ID.mountains)
SEED = 0  # the pair the page shows
HEIGHT = 430  # px, each graph; on a phone they stack, each as tall
NARROW_HEIGHT = 380
PAUSE, PLAY = "\u275a\u275a Pause rotation", "\u25b6 Play rotation"
# The camera's start: matplotlib's azimuth (as the rest of the lab), a little closer than the
# lab's other 3-D views (no colour bar here: the height says the loss), the grid's corners
# still inside the graph while it turns.
CAMERA = {"eye": {"x": 0.95, "y": -1.6, "z": 0.85}, "center": {"x": 0, "y": 0, "z": -0.15}}


@dataclass(frozen=True)
class Shown(shared.Outputs):
    bowl: Any = shared.NO
    mountains: Any = shared.NO
    caption: Any = shared.NO


def shown(data) -> Shown:
    """{"seed": 0} -> the two figures and the lines under them. One seed only: the page
    shows one pair, computed once per process, and a client cannot ask the server to train
    other networks here."""
    if not isinstance(data, dict) or "seed" not in data:
        raise LosslabError("the page state is damaged: reload the page.")
    seed = parse.integer(data["seed"], "seed", low=SEED, high=SEED)
    pair = networks.contrast(seed)
    bowl, mountains = contrast_scene(pair, colour_bars=False).panels
    return Shown(
        bowl=_figure(bowl, seed),
        mountains=_figure(mountains, seed),
        caption=caption(pair),
    )


def _figure(panel, seed: int):
    """One panel as its own figure (so that a phone stacks the pair), its title on two lines:
    what it is, then its non-convex share; no colour bar (the z axis reads the heights)."""
    title = panel.title.replace(" (", "<br>(", 1)
    return figures.draw(
        Scene((replace(panel, title=title),)),
        revision=seed + 1,
        uirevision=f"contrast-{seed}",
        raster=False,
        camera=CAMERA,
        margin={"l": 8, "r": 8, "t": 56, "b": 8},
        title={"font": {"size": 14}, "y": 0.97, "yanchor": "top"},
    )


def caption(pair: Contrast) -> list:
    """What the two pictures are, one line each, with the numbers behind the titles."""
    return [
        html.Li([html.Strong(title + ". "), description, " ", _share(share)])
        for title, description, share in (
            (pair.bowl_title, pair.bowl_description, pair.bowl_share),
            (pair.mountains_title, pair.mountains_description, pair.mountains_share),
        )
    ]


def _share(share: float) -> str:
    text = share_text(share)
    return (
        f"{text[0].upper()}{text[1:]}: the part of the grid where the surface curves downward "
        "in some direction."
    )


def section():
    """The pair, its pause/play button and its caption (the top of the neural page)."""
    graphs = [ui.graph(graph_id, height=HEIGHT, narrow_height=NARROW_HEIGHT) for graph_id in GRAPHS]
    return html.Section(
        [
            html.Div(
                [
                    html.H2("The bowl and the mountains", className="ll-contrast-title"),
                    html.Button(
                        PAUSE,
                        id=ID.play,
                        n_clicks=0,
                        className="ll-button ll-spin-button",
                        title="Pause or play the rotation of both surfaces",
                    ),
                ],
                className="ll-contrast-head",
            ),
            html.P(
                "A model with two weights has a convex loss: one bowl. A deep network's loss, "
                "seen on a plane through its trained weights, is a range of mountains. Both are "
                "computed, not drawn; drag either one to look closer.",
                className="ll-hint",
            ),
            html.Div(graphs, className="ll-contrast-pair"),
            html.Ul(id=ID.caption, className="ll-facts ll-contrast-caption"),
            dcc.Store(id=ID.seed, data={"seed": SEED}),
        ],
        className="ll-contrast",
        **{"aria-label": "the bowl and the mountains"},
    )


def register(app) -> None:
    app.callback(
        Output(ID.bowl, "figure"),
        Output(ID.mountains, "figure"),
        Output(ID.caption, "children"),
        Input(ID.seed, "data"),
    )(shared.guarded(lambda data: shown(data).values(), _failed))
    ids = ", ".join(f"'{graph_id}'" for graph_id in GRAPHS)
    app.clientside_callback(
        f"function(a, b, n) {{ return window.losslab.spin([{ids}], '{ID.play}', "
        f"'{PAUSE}', '{PLAY}'); }}",
        Output(ID.play, "children"),
        Input(ID.bowl, "figure"),
        Input(ID.mountains, "figure"),
        Input(ID.play, "n_clicks"),
    )


def _failed(message: shared.Message) -> tuple:
    return Shown(caption=[html.Li(message.text, className="ll-error")]).values()
