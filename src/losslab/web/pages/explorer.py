"""Surface explorer: pick a surface, click to start a descent, watch the learning rate decide
between crawling, zig-zagging and blowing up.

One server callback does everything that needs the library; `update` is its logic as a plain
function. A new surface or view rebuilds the figure; a click, a new rate, optimizer or step
count only patches the three path traces (start, path, end), so the answer is small and fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from dash import Input, Output, Patch, State, dcc, html

from losslab.descent import descend
from losslab.diagnosis import diagnose
from losslab.landscapes.grid import evaluate_grid
from losslab.optim import names as optimizer_names
from losslab.plot import _runs
from losslab.plot.scene import ColourScale
from losslab.web import animation, figures, parse, scenes
from losslab.web import components as ui
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared

ID = Ids("explorer")
KEY = "explorer"
DEFAULT_SURFACE = "stretched_bowl"
VIEWS = ("contour", "3d")
N_STEPS, MAX_STEPS = 300, 3000
LR_LOW, LR_HIGH = -5, 1
# The opening picture: on the stretched bowl at lr 0.09 gradient descent zig-zags across the
# narrow axis and still converges; just above lr = 0.1 it diverges.
LR_OVERRIDES = {"stretched_bowl": 0.09}
EXPRESSION_LR = 0.02  # a typed surface has no table entry: a rate that moves visibly on [-3, 3]
OPENING_EXPONENT = shared.clamp_exponent(LR_OVERRIDES[DEFAULT_SURFACE], LR_LOW, LR_HIGH)
SURFACE_TRIGGERS = (None, ID.surface, ID.apply, ID.expression)
REBUILD_TRIGGERS = (*SURFACE_TRIGGERS, ID.view, ID.arrows)
TRACES = figures.EXPLORER_TRACES  # per view: where the path, start and end are


@dataclass(frozen=True)
class Result(shared.Outputs):
    figure: Any = shared.NO
    surface: Any = shared.NO
    lr: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO
    spec: Any = shared.NO
    state: Any = shared.NO
    about: Any = shared.NO


def update(
    trigger,
    surface_value,
    expression,
    view,
    arrows,
    click,
    lr_exponent,
    optimizer_name,
    n_steps,
    state,
) -> Result:
    """parse -> descend -> figure (or a patch of its paths) + message + animation spec."""
    state = state if isinstance(state, dict) else {}
    revision = shared.stored_int(state, "revision") + 1
    view = parse.choice(view, "view", VIEWS)
    show_arrows = parse.flag(arrows)
    optimizer_name = parse.choice(optimizer_name, "optimizer", optimizer_names())
    n_steps = parse.integer(n_steps, "steps", low=1, high=MAX_STEPS)
    surface_out = shared.NO
    lr_out = shared.NO

    new_surface = trigger in SURFACE_TRIGGERS or "surface" not in state
    choice = shared.choose_surface(trigger, ID, surface_value, expression, state, DEFAULT_SURFACE)
    if choice is None:
        return Result(message=shared.ASK_FOR_EXPRESSION, level=shared.INFO)
    objective, text = choice.objective, choice.text
    if choice.typed:
        surface_out = parse.EXPRESSION

    if new_surface:
        start = shared.default_start(objective)
        typed = parse.is_typed(objective)
        lr = EXPRESSION_LR if typed else shared.default_lr(objective, LR_OVERRIDES)
        lr_out = shared.clamp_exponent(lr, LR_LOW, LR_HIGH)
        lr = shared.rate(lr_out)
    else:
        start = (
            parse.point({"x": state["start"][0], "y": state["start"][1]}, 2)
            if _has_start(state)
            else shared.default_start(objective)
        )
        lr = parse.log_rate(lr_exponent, low=LR_LOW, high=LR_HIGH)
        if trigger == ID.optimizer and optimizer_name == "newton":
            lr, lr_out = 1.0, 0.0  # Newton's natural step
    if trigger == ID.click:
        start = parse.point(click, 2)

    trajectory = descend(objective, shared.optimizer(optimizer_name, lr), start, n_steps)
    found = diagnose(objective, trajectory)
    (run,) = shared.with_diagnoses(_runs.runs(trajectory), [found])
    ground = surface_ground(objective) if view == "3d" else None  # what a 3-D path lies on
    if new_surface or trigger in REBUILD_TRIGGERS or state.get("view") != view:
        scene = picture(objective, run, view, show_arrows, ground)
        scale = scene.panel.items[0].scale
        figure = figures.draw(
            scene, revision=revision, uirevision=objective.name, camera=figures.EXPLORER_CAMERA
        )
    else:
        scale = ColourScale.from_dict(state.get("scale"))
        figure = patch_paths(run, view, scale, revision, ground)
    message = shared.describe(trajectory, objective, found)
    return Result(
        figure=figure,
        surface=surface_out,
        lr=lr_out,
        message=message.text,
        level=message.level,
        spec=replay(run, view, scale, revision, ground),
        state={
            "surface": text,
            "start": list(start),
            "revision": revision,
            "view": view,
            "scale": scale.to_dict(),
        },
        about=ui.about(objective) if new_surface else shared.NO,
    )


def _has_start(state: dict) -> bool:
    start = state.get("start")
    return isinstance(start, list) and len(start) == 2


def surface_ground(objective):
    """The 3-D surface as drawn (a Field): a path is lifted onto its mesh, not only its loss."""
    return scenes.field(evaluate_grid(objective, resolution=figures.SURFACE_RESOLUTION), "surface")


def picture(objective, run, view: str, arrows: bool, ground=None):
    """The surface (3-D: `ground`) or its filled contour with the gradient arrows, and the run."""
    minima = _runs.minima_array(objective)
    if view == "3d":
        return scenes.explorer_surface(
            ground if ground is not None else surface_ground(objective), run, minima
        )
    land = evaluate_grid(objective, resolution=figures.RASTER_RESOLUTION)
    box = np.array([[c[0], c[-1]] for c in land.coords])
    gradient = _runs.gradient_field(objective, box) if arrows else None
    return scenes.explorer_plane(land, run, minima, gradient)


def patch_paths(run, view: str, scale: ColourScale, revision: int, ground=None) -> Patch:
    """Replace the path, start and end traces and bump the data revision."""
    if view == "3d":
        items = scenes.run_items(run, "surface", scale, ground)
        panel = scenes.bare_panel("surface")
    else:
        items, panel = scenes.run_items(run), scenes.bare_panel()
    patch = Patch()
    where = TRACES[view]
    for role, trace in zip(("path", "start", "end"), figures.traces(panel, items), strict=True):
        patch["data"][where[role]] = trace
    patch["layout"]["datarevision"] = revision
    return patch


def replay(run, view: str, scale: ColourScale, revision: int, ground=None) -> dict:
    """The Run button's animation: the path grows step by step, the end marker appears last;
    the scoreboard's status at the end is the run's ending (the diagnosis's label). ground:
    the drawn 3-D surface a path is lifted above (None: the colour scale's height)."""
    x, y = run.path[:, 0], run.path[:, 1]
    z = None
    if view == "3d":
        z = ground.heights(run.path, run.losses) if ground is not None else scale.height(run.losses)
    where = TRACES[view]
    tracks = [
        animation.path_track(where["path"], x, y, z),
        animation.end_track(where["end"], x[-1:], y[-1:], None if z is None else z[-1:], n=len(x)),
    ]
    row = animation.board_row(run, [x, y, run.losses])
    return animation.spec(
        ID.graph,
        revision,
        tracks,
        len(x),
        duration=animation.duration_ms(len(x)),
        mode="3d" if view == "3d" else "2d",
        board=animation.board(ID.board, ["w1", "w2", "loss"], [row], cards=True),
    )


# -- layout and registration --------------------------------------------------------------------


def layout():
    controls = [
        ui.surface_picker(ID.surface, ID.expression, ID.apply, default=DEFAULT_SURFACE),
        ui.view_choice(ID.view, contour="contour", three_d="3-D"),
        ui.control("Optimizer", ui.optimizer_dropdown(ID.optimizer), html_for=ID.optimizer),
        ui.control(
            "Learning rate",
            html.Div(
                [
                    html.Div(id=ID.lr_text, className="ll-value"),
                    ui.log_slider(ID.lr, low=LR_LOW, high=LR_HIGH, value=OPENING_EXPONENT),
                ]
            ),
            hint="A log scale: each mark is ten times the last. Too large overshoots, then "
            "diverges.",
        ),
        ui.control("Steps", ui.steps_input(ID.steps, N_STEPS, high=MAX_STEPS), html_for=ID.steps),
        dcc.Checklist(
            id=ID.arrows,
            options=[{"label": "gradient arrows (point uphill)", "value": "on"}],
            value=[],
            className="ll-checks ll-control",
        ),
        html.Div(
            [ui.button(ID.run, "Run \u25b6", primary=True, title="replay the descent")],
            className="ll-buttons",
        ),
        html.Div("Click the map to start a descent there.", className="ll-hint"),
    ]
    main = [
        ui.split(
            ui.graph(ID.graph),
            [
                html.Div(id=ID.about, className="ll-about"),
                ui.board(ID.board),
                ui.message(ID.message),
            ],
        ),
        dcc.Store(id=ID.state),
        dcc.Store(id=ID.click),
        dcc.Store(id=ID.spec),
        dcc.Store(id=ID.player),
    ]
    return ui.page_frame(KEY, PAGE.title, LEDE, controls, main, QUESTIONS)


def register(app) -> None:
    outputs = [
        Output(ID.graph, "figure"),
        Output(ID.surface, "value"),
        Output(ID.lr, "value"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Output(ID.spec, "data"),
        Output(ID.state, "data"),
        Output(ID.about, "children"),
        Output(ID.lr + shared.SETTLED, "data"),  # the slider's value, settled too
    ]

    def failed(message: shared.Message) -> tuple:
        return Result(message=message.text, level=message.level).values()

    def run_update(*args):
        return update(shared.triggered(), *args).values()

    app.callback(
        *outputs,
        Input(ID.surface, "value"),
        Input(ID.apply, "n_clicks"),
        Input(ID.expression, "n_submit"),
        Input(ID.view, "value"),
        Input(ID.arrows, "value"),
        Input(ID.click, "data"),
        Input(ID.lr + shared.SETTLED, "data"),
        Input(ID.optimizer, "value"),
        Input(ID.steps, "value"),
        State(ID.expression, "value"),
        State(ID.state, "data"),
    )(shared.settled_too(shared.guarded(_reorder(run_update), failed), 2))
    shared.register_settle(app, ID.lr)
    shared.register_stepper(app, ID.steps, low=1, high=MAX_STEPS, fallback=N_STEPS)
    shared.register_click(app, ID.graph, ID.click)
    shared.register_player(app, ID.run, ID.spec, ID.player)
    shared.register_rate_text(app, ID.lr, ID.lr_text)


def _reorder(run_update):
    """Dash passes inputs then states; `update` wants the expression next to the surface."""

    def callback(
        surface, _apply, _submit, view, arrows, click, lr, optimizer, steps, expression, state
    ):
        return run_update(surface, expression, view, arrows, click, lr, optimizer, steps, state)

    return callback


LEDE = "Pick a surface and click anywhere on it: gradient descent starts there at once."

QUESTIONS = (
    Question(
        "On the stretched bowl (x\u00b2 + 10y\u00b2) with gradient descent, raise the learning "
        "rate from 0.09 to 0.12. What happens?",
        (
            Option(
                "It converges faster, because bigger steps cover more ground.",
                False,
                "Bigger steps help along the gentle x axis, but across the steep y axis "
                "(curvature 20) every step with lr > 2/20 = 0.1 lands further out than it started.",
            ),
            Option(
                "It diverges: the zig-zag across the narrow axis grows until it leaves the map.",
                True,
                "The steep direction has curvature 20, so gradient descent is stable only for "
                "lr < 2/20 = 0.1. Above that, each step across the valley overshoots further.",
            ),
            Option(
                "Nothing changes: the learning rate only sets the speed.",
                False,
                "The rate also decides stability: each step along the steep axis multiplies the "
                "distance by |1 - 20 lr|, which exceeds 1 when lr > 0.1.",
            ),
        ),
    ),
    Question(
        "Turn on the gradient arrows on any surface. How do they sit against the contour bands?",
        (
            Option(
                "Along the bands, following the valley floor.",
                False,
                "Along a contour line the loss does not change, so the gradient has no component "
                "there.",
            ),
            Option(
                "Across the bands, pointing to higher loss.",
                True,
                "The gradient is perpendicular to the contour lines and points uphill; descent "
                "walks against the arrows, which is why paths cross the bands at right angles.",
            ),
            Option(
                "Towards the nearest known minimum.",
                False,
                "The gradient only knows the local slope. On Rosenbrock it points across the "
                "curved "
                "valley, nowhere near the minimum at (1, 1).",
            ),
        ),
    ),
    Question(
        "On Rosenbrock, gradient descent from (-1.5, 2) at lr 0.001 quickly drops into the valley. "
        "Why does it then take hundreds of steps to approach (1, 1)?",
        (
            Option(
                "The valley floor is almost flat along its length, so the gradient there is tiny.",
                True,
                "Across the valley the curvature is about 100 times larger than along it: the "
                "small, stable learning rate that the steep walls demand makes the flat floor "
                "slow.",
            ),
            Option(
                "The learning rate shrinks automatically as it gets close.",
                False,
                "Plain gradient descent keeps lr fixed; the steps shrink only because the "
                "gradient does.",
            ),
            Option(
                "Rosenbrock has many local minima along the valley.",
                False,
                "Rosenbrock has one minimum, at (1, 1); the valley is just long, curved and "
                "nearly flat.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/explorer",
    title="Surface explorer",
    teaches="How the learning rate and the shape of a surface decide between crawling, "
    "zig-zagging and diverging.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
