"""Curvature inspector: click a point to see the Hessian there, its eigenvalues and
eigen-directions, and where every critical point of the surface lies.

The critical points are found once per surface (`losslab.critical_points`) and kept in the
browser's store; a click runs `losslab.inspect` at that point and patches the marker and the
eigen-arrows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from dash import Input, Output, Patch, State, ctx, dcc, html

from losslab import dust
from losslab.curvature import CriticalPoint, critical_points, inspect
from losslab.errors import LosslabError
from losslab.landscapes.grid import evaluate_grid
from losslab.plot.scene import number, point_text
from losslab.web import components as ui
from losslab.web import figures, parse, scenes
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared

ID = Ids("curvature")
KEY = "curvature"
DEFAULT_SURFACE = "saddle"
# The picker lists every critical point the library finds (441 on rastrigin; at most 41 x 41 =
# 1681 from critical_points' default grid); past MAX_LISTED the summary says how many are
# listed, never silently. The same number bounds what the browser's store may hold.
MAX_LISTED = 2000
SURFACE_TRIGGERS = (None, ID.surface, ID.apply, ID.expression)


@dataclass(frozen=True)
class Result(shared.Outputs):
    figure: Any = shared.NO
    surface: Any = shared.NO
    readout: Any = shared.NO
    options: Any = shared.NO
    picked: Any = shared.NO
    summary: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO
    state: Any = shared.NO


def update(trigger, surface_value, expression, click, picked, state) -> Result:
    state = state if isinstance(state, dict) else {}
    revision = shared.stored_int(state, "revision") + 1
    new_surface = trigger in SURFACE_TRIGGERS or "surface" not in state
    surface_out = shared.NO
    choice = shared.choose_surface(trigger, ID, surface_value, expression, state, DEFAULT_SURFACE)
    if choice is None:
        return Result(message=shared.ASK_FOR_EXPRESSION, level=shared.INFO)
    objective, text = choice.objective, choice.text
    if choice.typed:
        surface_out = parse.EXPRESSION

    found: list[CriticalPoint] = []
    if new_surface:
        found = critical_points(objective)
        listed = [[*p.point.tolist(), p.kind] for p in found[:MAX_LISTED]]
        point = default_point(objective, found)
        picked_out = _first_index(found, point)
    else:
        listed = stored_points(state.get("points"))
        picked_out = shared.NO
        if trigger == ID.click:
            point = parse.point(click, 2)
            picked_out = None
        elif trigger == ID.picked:
            index = parse.integer(picked, "critical point", low=0, high=max(len(listed) - 1, 0))
            if not listed:
                raise LosslabError("this surface has no critical points in the window to pick.")
            point = tuple(listed[index][:2])
        else:
            point = _stored_xy(state.get("point")) or (0.0, 0.0)
    inspected = inspect(objective, point)
    if new_surface:
        land = evaluate_grid(objective, resolution=figures.RASTER_RESOLUTION)
        scene = scenes.curvature_scene(land, found, inspected)
        figure = figures.draw(scene, revision=revision, uirevision=objective.name)
        options = [
            {"label": f"{kind} at {point_text(xy, 3)}", "value": i}
            for i, (*xy, kind) in enumerate(listed)
        ]
        summary = summarise([p.kind for p in found], len(listed))
    else:
        figure = patch_point(inspected, objective.bounds.numpy(), revision)
        options = summary = shared.NO
    return Result(
        figure=figure,
        surface=surface_out,
        readout=readout(inspected),
        options=options,
        picked=picked_out,
        summary=summary,
        message="",
        level=shared.INFO,
        state={
            "surface": text,
            "points": listed,
            "point": inspected.point.tolist(),
            "revision": revision,
        },
    )


def patch_point(inspected: CriticalPoint, box, revision: int) -> Patch:
    """The inspected point, its flat eigen-directions (a trace) and the others (arrows in the
    layout's annotations)."""
    point, attracting, repelling, flat = scenes.inspected_items(inspected, box)
    marker, segments = figures.traces(scenes.bare_panel(), [point, flat])
    patch = Patch()
    patch["data"][figures.CURVATURE_POINT] = marker
    patch["data"][figures.CURVATURE_FLAT] = segments
    patch["layout"]["annotations"] = figures.annotations([attracting, repelling])
    patch["layout"]["datarevision"] = revision
    return patch


def default_point(objective, found: list[CriticalPoint]) -> tuple[float, float]:
    """A saddle if there is one (the interesting case), else the first critical point, else
    the centre of the window."""
    for kind in ("saddle", "minimum", "maximum", "degenerate"):
        for p in found:
            if p.kind == kind:
                return tuple(p.point.tolist())
    centre = objective.bounds.mean(dim=1)
    return tuple(centre.tolist())


def _first_index(found, point) -> int | None:
    for i, p in enumerate(found):
        if tuple(p.point.tolist()) == tuple(point):
            return i
    return None


def stored_points(value) -> list:
    """[[x, y, kind], ...] from the browser, checked."""
    if not isinstance(value, list) or len(value) > MAX_LISTED:
        raise LosslabError("the page state is damaged: reload the page.")
    points = []
    for item in value:
        if not isinstance(item, list) or len(item) != 3 or item[2] not in scenes.CURVATURE_KINDS:
            raise LosslabError("the page state is damaged: reload the page.")
        x, y = parse.point({"x": item[0], "y": item[1]}, 2)
        points.append([x, y, item[2]])
    return points


def _stored_xy(value):
    if isinstance(value, list) and len(value) == 2:
        return parse.point({"x": value[0], "y": value[1]}, 2)
    return None


PLURALS = {"minimum": "minima", "maximum": "maxima", "saddle": "saddles"}


def summarise(kinds: list[str], n_listed: int) -> str:
    """'441 critical points: 121 minima, 220 saddles, 100 maxima. Pick one to inspect it.'
    from every kind the library found; says so when the list holds fewer (n_listed)."""
    if not kinds:
        return "No critical points in the window."
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{n} {kind if n == 1 else PLURALS.get(kind, kind)}" for kind, n in counts.items()]
    total = f"{len(kinds)} critical point{'' if len(kinds) == 1 else 's'}"
    text = f"{total}: " + ", ".join(parts) + "."
    if n_listed < len(kinds):
        return text + (
            f" The list holds the first {n_listed} (minima first, lowest first); the map "
            "shows all of them."
        )
    return text + " Pick one to inspect it."


def signed(value: float) -> str:
    """+2, -2, 0: an eigenvalue (dust already removed) with its sign always shown."""
    value = float(value) + 0.0
    return "0" if value == 0 else f"{value:+.4g}"


SHAPES = {  # the quadratic part's shape, whatever the gradient
    "positive definite": "bowl-shaped (it curves up in every direction)",
    "negative definite": "dome-shaped (it curves down in every direction)",
    "indefinite": "saddle-shaped (up along one direction, down along another)",
    "singular": "flat along one direction",
}


def kind_text(point: CriticalPoint) -> str:
    """The readout's kind: the critical point's kind, or 'not critical' with the gradient."""
    if point.kind != "regular":
        return point.kind
    grad = float(torch.linalg.vector_norm(point.gradient))
    return f"not critical (gradient |g| = {number(grad, 3)})"


def meaning(point: CriticalPoint) -> str:
    """The classification in words, naming the attracting and repelling directions."""
    lams = point.eigenvalues.tolist()
    vecs = point.eigenvectors.T.tolist()
    ups = [point_text(v, 2) for lam, v in zip(lams, vecs, strict=True) if lam > 0]
    downs = [point_text(v, 2) for lam, v in zip(lams, vecs, strict=True) if lam < 0]
    grad = float(torch.linalg.vector_norm(point.gradient))
    if point.kind == "minimum":
        return "a minimum: the surface curves up in every direction."
    if point.kind == "maximum":
        return "a maximum: the surface curves down in every direction."
    if point.kind == "saddle":
        return (
            f"a saddle: descent is pulled in along {', '.join(ups)} and pushed out along "
            f"{', '.join(downs)}."
        )
    if point.kind == "degenerate":
        return "degenerate: a zero eigenvalue, so the quadratic picture cannot classify it."
    return (
        f"not a critical point: the gradient (|g| = {number(grad, 3)}) is not zero, so descent "
        f"moves on from here. The curvature here is {SHAPES[point.curvature]}."
    )


def readout(point: CriticalPoint):
    """The numbers at the point; eigenvalues, trace and determinant that are zero by
    inspect's eig_tol print as 0 (`losslab.dust`)."""
    lams = point.eigenvalues.tolist()
    shown = dust.spectrum(lams)
    rows = [
        ("point", point_text(point.point.tolist(), 4)),
        ("loss", number(point.value, 4)),
        ("|gradient|", number(float(torch.linalg.vector_norm(point.gradient)), 3)),
        ("eigenvalues", ",  ".join(f"\u03bb{i + 1} = {signed(v)}" for i, v in enumerate(shown))),
        ("trace", number(dust.trace(point.trace, lams), 4)),
        ("determinant", number(dust.determinant(point.det, lams), 4)),
        ("kind", kind_text(point)),
    ]
    items = []
    for term, value in rows:
        items += [html.Dt(term), html.Dd(value, className=f"ll-{term.strip('|')}")]
    return [
        html.Dl(items, className="ll-readout", id=ID.values),
        html.P(meaning(point), className="ll-hint", style={"fontSize": "14px"}),
    ]


def layout():
    controls = [
        ui.surface_picker(ID.surface, ID.expression, ID.apply, default=DEFAULT_SURFACE),
        ui.control(
            "Critical points",
            html.Div(
                [
                    html.Div(id=ID.summary, className="ll-hint"),
                    dcc.RadioItems(
                        id=ID.picked,
                        options=[],
                        value=None,
                        className="ll-list",
                        inputClassName="ll-radio",
                    ),
                ]
            ),
        ),
        html.Div(
            "Click anywhere on the map to inspect the Hessian at that point.", className="ll-hint"
        ),
    ]
    main = [
        html.Div(
            [
                ui.graph(ID.graph),
                html.Div(id=ID.readout, className="ll-card ll-readout-card"),
            ],
            className="ll-split",
        ),
        html.Div([ui.message(ID.message)], className="ll-under"),
        dcc.Store(id=ID.state),
        dcc.Store(id=ID.click),
    ]
    return ui.page_frame(KEY, PAGE.title, LEDE, controls, main, QUESTIONS)


def register(app) -> None:
    def failed(message: shared.Message) -> tuple:
        return Result(message=message.text, level=message.level).values()

    def callback(surface, _apply, _submit, click, picked, expression, state):
        return update(ctx.triggered_id, surface, expression, click, picked, state).values()

    app.callback(
        Output(ID.graph, "figure"),
        Output(ID.surface, "value"),
        Output(ID.readout, "children"),
        Output(ID.picked, "options"),
        Output(ID.picked, "value"),
        Output(ID.summary, "children"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Output(ID.state, "data"),
        Input(ID.surface, "value"),
        Input(ID.apply, "n_clicks"),
        Input(ID.expression, "n_submit"),
        Input(ID.click, "data"),
        Input(ID.picked, "value"),
        State(ID.expression, "value"),
        State(ID.state, "data"),
    )(shared.guarded(callback, failed))
    shared.register_click(app, ID.graph, ID.click)


LEDE = "The Hessian's eigenvalues say how the surface bends at a point: up, down, or both."

QUESTIONS = (
    Question(
        "On the saddle x\u00b2 - y\u00b2 the eigenvalues are +2 and -2 everywhere. What does "
        "gradient descent do near the origin?",
        (
            Option(
                "It is pulled in along x and pushed away along y, so it slides off the saddle.",
                True,
                "Positive curvature (+2 along x) attracts, negative curvature (-2 along y) repels: "
                "any start a hair off the x axis eventually leaves along y.",
            ),
            Option(
                "It stops at the origin, since the gradient there is zero.",
                False,
                "Only a start exactly on the x axis reaches the origin; everywhere else the "
                "repelling "
                "direction wins.",
            ),
            Option(
                "It oscillates around the origin forever.",
                False,
                "With a small learning rate there is no oscillation: the y component grows "
                "steadily "
                "by a factor 1 + 2 lr each step.",
            ),
        ),
    ),
    Question(
        "At a critical point of a 2-D surface the determinant of the Hessian is negative. What is "
        "it?",
        (
            Option(
                "A minimum.",
                False,
                "A minimum needs both eigenvalues positive, so the determinant "
                "(their product) is positive.",
            ),
            Option(
                "A saddle.",
                True,
                "The determinant is the product of the eigenvalues; a negative "
                "product means one is positive and one negative: a saddle.",
            ),
            Option(
                "A maximum.",
                False,
                "A maximum has two negative eigenvalues, whose product is positive.",
            ),
        ),
    ),
    Question(
        "Pick Himmelblau and look at its critical points. How many minima, saddles and maxima "
        "does it have in the window?",
        (
            Option(
                "4 minima, 4 saddles, 1 maximum.",
                True,
                "Between four valleys of equal depth sit "
                "four passes (saddles), and one peak near (-0.27, -0.92).",
            ),
            Option(
                "4 minima and nothing else.",
                False,
                "Between two valleys there is always a pass: "
                "a surface with four minima must have saddles too.",
            ),
            Option(
                "1 minimum, the global one.", False, "Himmelblau has four minima, all with loss 0."
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/curvature",
    title="Curvature inspector",
    teaches="How the Hessian's eigenvalues tell minima, maxima and saddles apart, and which "
    "directions attract or repel descent.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
