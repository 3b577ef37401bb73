"""Descent in 1-D: gradient descent on the double well, one step at a time.

The state (start, learning rate, steps taken) lives in the browser's store. Every request
runs the whole descent from the start (a few milliseconds in 1-D) and draws it up to the
current step (a click on a drawn curve patches only the run's traces); Run plays the
remaining steps in the browser and then hands the final step count back, so the server's
picture and the animation always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from dash import Input, Output, Patch, dcc, html

from losslab.descent import descend
from losslab.diagnosis import diagnose
from losslab.landscapes.grid import evaluate_grid
from losslab.objectives import surface
from losslab.optim import gd
from losslab.plot import _runs
from losslab.plot.scene import number
from losslab.web import animation, figures, parse, scenes
from losslab.web import components as ui
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared

ID = Ids("descent1d")
KEY = "descent1d"
SURFACE = "double_well"
START, LR = 2.2, 0.05
N_STEPS = 200  # more than any stable rate needs on the double well
LR_LOW, LR_HIGH = -3, 0
RATES = ui.round_rates(LR_LOW, LR_HIGH)  # the slider's stops: 0.001, ..., 0.05, ..., 0.4, ..., 1
TANGENT_HALF_WIDTH = 0.45
CURVE_RESOLUTION = 500
CURVE, MINIMA, PATH, CURRENT, TANGENT = (
    figures.DESCENT_TRACES[k] for k in ("curve", "minimum", "path", "head", "tangent")
)


@dataclass(frozen=True)
class Result(shared.Outputs):
    figure: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO
    spec: Any = shared.NO
    state: Any = shared.NO


def update(trigger, click, rate_index, state) -> Result:
    """parse -> descend -> the curve with the path up to the current step + readouts."""
    objective = surface(SURFACE)
    state = state if isinstance(state, dict) else {}
    revision = shared.stored_int(state, "revision") + 1
    lr = RATES[parse.integer(rate_index, "learning-rate stop", low=0, high=len(RATES) - 1)]
    start = _stored_start(state)
    step = max(0, shared.stored_int(state, "step"))
    if trigger == ID.click:
        (start,) = parse.point(click, 1)
        step = 0
    elif trigger == ID.step:
        step += 1
    elif trigger in (ID.reset, ID.lr):
        step = 0

    trajectory = descend(objective, gd(lr), [start], N_STEPS)
    found = diagnose(objective, trajectory)
    (run,) = shared.with_diagnoses(_runs.runs(trajectory), [found])
    last = run.stopped_at
    step = min(step, last)
    x = run.path[:, 0]
    values, grads = _runs.derivative_at(objective, run.path)
    slopes = grads[:, 0]
    if trigger == ID.click and "revision" in state:  # the curve is drawn: move the run only
        figure = patch_run(run, values, slopes, step, revision)
    else:
        figure = curve_figure(objective, run, values, slopes, step, revision)
    message = _message(trajectory, found, step, trigger == ID.step and step == last)
    new_state = {"start": start, "step": step, "revision": revision}
    row = animation.board_row(run, [x, values, slopes])
    spec = animation.spec(
        ID.graph,
        revision,
        [
            animation.path_track(PATH, x, values),
            animation.head_track(CURRENT, x, values),
            animation.segment_track(
                TANGENT, *scenes.tangent_ends(x, values, slopes, TANGENT_HALF_WIDTH)
            ),
        ],
        len(x),
        duration=animation.duration_ms(len(x) - step, per_step=90, low=400, high=9000),
        frame=step,
        run_from=step if step < last else 0,
        board=animation.board(ID.board, ["x", "f(x)", "f'(x)"], [row]),
        on_done={"store": ID.state, "data": {**new_state, "step": last}},
        on_start=playing_message(step, last),
    )
    return Result(figure, message.text, message.level, spec, new_state)


def playing_message(step: int, last: int) -> dict:
    """What the message says while Run plays steps step..last in the browser (the server's
    own message returns when the player hands the final step back)."""
    first = step if step < last else 0
    text = f"Running steps {first} to {last}\u2026 (the board shows each step as it is drawn)."
    return {"id": ID.message, "props": {"children": text, "className": shared.INFO}}


def _stored_start(state: dict) -> float:
    value = state.get("start", START)
    try:
        (start,) = parse.point({"x": value}, 1)
    except Exception:  # noqa: BLE001 - a damaged store falls back to the default
        return START
    return start


def curve_figure(objective, run, values, slopes, step: int, revision: int):
    """f(x), its minima, the steps taken so far on the curve, the current point and its
    tangent (slope f'(x))."""
    curve = evaluate_grid(objective, resolution=CURVE_RESOLUTION)
    scene = scenes.descent_scene(
        curve,
        run,
        values,
        slopes,
        step,
        _runs.minima_array(objective),
        TANGENT_HALF_WIDTH,
        f"f(x) = {objective.formula}",
    )
    return figures.draw(scene, revision=revision, uirevision=SURFACE, hovermode="x")


def patch_run(run, values, slopes, step: int, revision: int) -> Patch:
    """The path, current point and tangent of a new start (the curve and minima stay)."""
    patch = Patch()
    items = scenes.descent_items(run, values, slopes, step, TANGENT_HALF_WIDTH)
    for index, trace in zip(
        (PATH, CURRENT, TANGENT), figures.traces(scenes.descent_panel(), items), strict=True
    ):
        patch["data"][index] = trace
    patch["layout"]["datarevision"] = revision
    return patch


def _message(trajectory, found, step: int, pressed_at_end: bool) -> shared.Message:
    run = trajectory.run(0)
    last = int(run.stopped_at)
    if step < last:
        return shared.Message(
            f"Step {step} of {last}: press Step for one more, Run to play the rest, or click the "
            "curve to start somewhere else.",
            shared.INFO,
        )
    if found.kind == "running":  # the page has no steps control: the rate is the lever
        end = float(run.params[last, 0])
        message = shared.Message(
            f"Still moving after the page's {last} steps, at x = {end:.4f} where the slope "
            f"|f'(x)| = {number(found.grad_norm, 3)} is not yet 0: too slow to arrive; raise "
            "the learning rate.",
            shared.LEVELS[found.kind],
        )
    elif found.kind != "minimum":  # diverged: the library's sentence says why
        message = shared.diagnosis_message(found)
    else:
        end = float(run.params[last, 0])
        minima = surface(SURFACE).minima[:, 0]
        nearest = int(torch.argmin((minima - end).abs()))
        which = (
            "the deeper minimum near -1.33" if nearest == 0 else "the shallower minimum near +1.27"
        )
        curvature = number(float(found.eigenvalues[0]), 3)
        message = shared.Message(
            f"Converged after {last} steps at x = {end:.4f}: {which} (f''(x) = {curvature} "
            "> 0: the curve bends up).",
            shared.LEVELS[found.kind],
        )
    if pressed_at_end:
        text = message.text + " The run is over: Reset, or click the curve for a new start."
        message = shared.Message(text, message.level)
    return message


def layout():
    controls = [
        ui.control(
            "Learning rate",
            html.Div(
                [
                    html.Div(id=ID.lr_text, className="ll-value"),
                    ui.round_rate_slider(ID.lr, RATES, value=LR),
                ]
            ),
            hint="Log scale, in round steps (0.3, 0.4, ...). Watch what happens above about 0.3.",
        ),
        html.Div(
            [
                ui.button(ID.step, "Step", title="take one gradient step"),
                ui.button(ID.run, "Run \u25b6", primary=True, title="play the remaining steps"),
                ui.button(ID.reset, "Reset", title="back to step 0"),
            ],
            className="ll-buttons",
        ),
        html.Div(
            "Click anywhere on the curve to put the start there. Each step moves x by "
            "-lr \u00d7 f'(x): downhill, further where the curve is steep.",
            className="ll-hint",
        ),
    ]
    main = [
        ui.graph(ID.graph, height=480),
        html.Div([ui.board(ID.board), ui.message(ID.message)], className="ll-under"),
        dcc.Store(id=ID.state),
        dcc.Store(id=ID.click),
        dcc.Store(id=ID.spec),
        dcc.Store(id=ID.player),
    ]
    return ui.page_frame(KEY, PAGE.title, LEDE, controls, main, QUESTIONS)


def register(app) -> None:
    def failed(message: shared.Message) -> tuple:
        return Result(message=message.text, level=message.level).values()

    def callback(click, _step, _reset, lr, state):
        return update(shared.triggered(), click, lr, state).values()

    app.callback(
        Output(ID.graph, "figure"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Output(ID.spec, "data"),
        Output(ID.state, "data"),
        Input(ID.click, "data"),
        Input(ID.step, "n_clicks"),
        Input(ID.reset, "n_clicks"),
        Input(ID.lr + shared.SETTLED, "data"),
        Input(ID.state, "data"),
    )(shared.guarded(callback, failed))
    shared.register_settle(app, ID.lr)
    shared.register_click(app, ID.graph, ID.click)
    shared.register_player(app, ID.run, ID.spec, ID.player)
    app.clientside_callback(
        f"function(i) {{ var r = {list(RATES)}[i]; return r === undefined ? '' : 'lr = ' + r; }}",
        Output(ID.lr_text, "children"),
        Input(ID.lr, "value"),
    )


LEDE = "One weight, one loss curve with two valleys: watch each gradient step roll downhill."

QUESTIONS = (
    Question(
        "Start at x = 2.2 with the default learning rate 0.05 and press Run. Where does it stop?",
        (
            Option(
                "In the shallower valley near x = +1.27.",
                True,
                "Gradient descent only follows the local slope: from 2.2 the nearest valley is the "
                "right one, and it never learns that a deeper one lies to the left.",
            ),
            Option(
                "In the deeper valley near x = -1.33.",
                False,
                "Small steps never climb the bump near x = 0, so the run cannot reach the left "
                "valley.",
            ),
            Option(
                "On top of the bump near x = 0, where f'(x) = 0.",
                False,
                "The top of the bump is a maximum: any step off it goes downhill, and from 2.2 the "
                "run never gets there.",
            ),
        ),
    ),
    Question(
        "Keep the start at 2.2 and set the learning rate to 0.4. What happens now?",
        (
            Option(
                "The same as before, just in fewer steps.",
                False,
                "Look at the first step: at x = 2.2 the slope is large, and 0.4 times it carries x "
                "far past the right valley.",
            ),
            Option(
                "The first big step jumps over the bump and the run ends in the deeper valley.",
                True,
                "A large rate can carry the point across a barrier. Here that is lucky; the same "
                "jump could just as well have thrown it somewhere worse.",
            ),
            Option(
                "It diverges.",
                False,
                "Not yet: on this curve divergence from 2.2 starts near lr = 0.8, where every step "
                "overshoots by more than the last.",
            ),
        ),
    ),
    Question(
        "At the current point f'(x) is positive. Which way does the next step move x?",
        (
            Option(
                "Right, towards larger x.",
                False,
                "A positive slope means the loss grows to the right, so descent goes the other "
                "way.",
            ),
            Option(
                "Left, by lr times f'(x).",
                True,
                "The update is x \u2190 x - lr \u00b7 f'(x): against the slope, and further the "
                "steeper the curve.",
            ),
            Option(
                "It depends on the sign of f(x).",
                False,
                "The value of the loss does not matter, only its slope: the update uses f'(x) "
                "alone.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/descent-1d",
    title="Descent in 1D",
    teaches="What one gradient step does, and why the start and the learning rate decide "
    "which valley you end in.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
