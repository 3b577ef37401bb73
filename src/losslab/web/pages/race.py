"""Optimizer race: several optimizers from one start, in lockstep, animated side by side.

`losslab.race` runs them all in one batched loop; the page draws the paths on the map and
the losses per step, and the browser replays them together with a live scoreboard. The
first to come within a small radius of a known minimum wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from dash import ALL, MATCH, Input, Output, Patch, State, dcc, html

from losslab.curvature import critical_points
from losslab.descent import race
from losslab.diagnosis import diagnose
from losslab.errors import LosslabError
from losslab.landscapes.grid import evaluate_grid
from losslab.objectives.defaults import optimizer_lr
from losslab.optim import names as optimizer_names
from losslab.optim import newton
from losslab.plot import _runs
from losslab.plot.scene import number, point_text
from losslab.web import animation, figures, parse, scenes
from losslab.web import components as ui
from losslab.web.page import Ids, Option, Page, Question
from losslab.web.pages import _shared as shared

ID = Ids("race")
KEY = "race"
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_OPTIMIZERS = ("gd", "momentum", "newton")
N_STEPS, MAX_STEPS = 400, 2000
LR_LOW, LR_HIGH = -5, 1
REACH = 0.005  # "reached": within this fraction of the window's diagonal of a known minimum
MAX_MINIMA = 400
SURFACE_TRIGGERS = (None, ID.surface, ID.apply, ID.expression)
# One learning-rate slider per optimizer but Newton (whose natural step is lr = 1).
RATED = tuple(name for name in optimizer_names() if name != "newton")
RATE, RATE_ROW, RATE_TEXT = (f"{KEY}-rate", f"{KEY}-rate-row", f"{KEY}-rate-text")


@dataclass(frozen=True)
class Result(shared.Outputs):
    figure: Any = shared.NO
    surface: Any = shared.NO
    message: Any = shared.NO
    level: Any = shared.NO
    spec: Any = shared.NO
    state: Any = shared.NO
    rates: Any = shared.NO  # {name: log10 lr} into the settled store; the browser copies it
    # into the sliders (so this callback has no wildcard output and its opening is primed)


def update(trigger, surface_value, expression, chosen, click, rates, n_steps, state):
    """parse -> race -> paths and losses (a patch when only the runs changed) + scoreboard.

    rates: {optimizer name: log10 lr} from the per-optimizer sliders (their settled values);
    on a new surface every rate goes back to the surface's default, `optimizer_lr`."""
    state = state if isinstance(state, dict) else {}
    revision = shared.stored_int(state, "revision") + 1
    if isinstance(chosen, list | tuple) and not chosen and "surface" in state:
        return no_runs(state, revision)
    names = parse.optimizers(chosen)
    n_steps = parse.integer(n_steps, "steps", low=1, high=MAX_STEPS)
    surface_out = rates_out = shared.NO
    new_surface = trigger in SURFACE_TRIGGERS or "surface" not in state
    choice = shared.choose_surface(trigger, ID, surface_value, expression, state, DEFAULT_SURFACE)
    if choice is None:
        return Result(message=shared.ASK_FOR_EXPRESSION, level=shared.INFO)
    objective, text = choice.objective, choice.text
    if choice.typed:
        surface_out = parse.EXPRESSION

    if new_surface:
        start = shared.default_start(objective)
        exponents = default_exponents(objective)
        rates_out = exponents
        minima = known_minima(objective)
    else:
        start = _stored_point(state.get("start")) or shared.default_start(objective)
        exponents = read_exponents(rates, objective)
        minima = stored_minima(state.get("minima"))
    lrs = {name: shared.rate(exponent) for name, exponent in exponents.items()}
    if trigger == ID.click:
        start = parse.point(click, 2)

    optimizers = [
        newton() if name == "newton" else shared.optimizer(name, lrs[name]) for name in names
    ]
    trajectories = race(objective, optimizers, start, n_steps)
    diagnoses = diagnose(objective, trajectories)
    runs = shared.with_diagnoses(_runs.runs(trajectories), diagnoses)
    radius = REACH * float(
        torch.linalg.vector_norm(objective.bounds[:, 1] - objective.bounds[:, 0])
    )
    reached = [reach_step(run, minima, radius) for run in runs]
    rebuild = new_surface or state.get("names") != names
    if rebuild:
        land = evaluate_grid(objective, resolution=figures.RASTER_RESOLUTION)
        scene = scenes.runs_scene(land, runs, minima, loss_panel=True, first=True)
        figure = figures.runs(scene, revision=revision, uirevision=objective.name)
    else:
        figure = patch_runs(runs, revision)
    banner = winner(runs, reached, radius, n_steps)
    heading = (
        f"Race from {point_text(start, 3)}, {n_steps} steps, "
        f"{rates_text(names, lrs)}. "
        "Click the map to move the start." + _note(objective)
    )
    message = shared.runs_message(heading, trajectories, diagnoses)
    return Result(
        figure=figure,
        surface=surface_out,
        message=message.text,
        level=message.level,
        spec=replay(runs, reached, banner, revision),
        state={
            "surface": text,
            "start": list(start),
            "names": names,
            "minima": minima.tolist(),
            "revision": revision,
        },
        rates=rates_out,
    )


def no_runs(state: dict, revision: int) -> Result:
    """Every optimizer unticked: the map keeps its surface but drops every path, loss line and
    scoreboard row (nothing stale stays on screen); the next tick rebuilds."""
    old = state.get("names") if isinstance(state.get("names"), list) else []
    patch = Patch()
    for i in range(min(len(old), len(RATED) + 1)):
        for index in figures.run_indices(i, len(old), loss_panel=True).values():
            patch["data"][index]["x"] = []
            patch["data"][index]["y"] = []
            # and hidden: a frame of the replay still in flight may draw the path again
            patch["data"][index]["visible"] = False
    patch["layout"]["datarevision"] = revision
    empty = {"text": "", "step": None}
    spec = animation.spec(
        ID.graph, revision, [], 1, duration=0, board=animation.board(ID.board, ["loss"], [], empty)
    )
    return Result(
        figure=patch,
        message="No optimizer is ticked: tick at least one to race.",
        level=shared.INFO,
        spec=spec,
        state={**state, "names": [], "revision": revision},
    )


def _note(objective) -> str:
    note = parse.one_variable_note(objective)
    return f" {note}" if note else ""


def default_exponents(objective) -> dict[str, float]:
    """log10 of each optimizer's default rate on this surface, within the sliders' range."""
    return {
        name: shared.clamp_exponent(optimizer_lr(objective, name), LR_LOW, LR_HIGH)
        for name in RATED
    }


def read_exponents(rates, objective) -> dict[str, float]:
    """The sliders' {name: log10 lr} from the browser, checked; a missing one is the default."""
    rates = rates if isinstance(rates, dict) else {}
    exponents = default_exponents(objective)
    for name in RATED:
        if name in rates:
            label = f"log10 of {name}'s rate"
            exponents[name] = parse.number(rates[name], label, low=LR_LOW, high=LR_HIGH)
    return exponents


def rates_text(names: list[str], lrs: dict[str, float]) -> str:
    """'lr: gd 0.001, momentum 0.001; newton its natural step (lr = 1)'."""
    rated = [f"{name} {number(lrs[name], 3)}" for name in names if name in lrs]
    text = "lr: " + ", ".join(rated) if rated else ""
    if "newton" in names:
        text += ("; " if text else "") + "newton its natural step (lr = 1)"
    return text


def known_minima(objective) -> np.ndarray:
    """The surface's known minima, else the minima `critical_points` finds in the window."""
    minima = _runs.minima_array(objective)
    if len(minima):
        return minima
    found = [p.point.tolist() for p in critical_points(objective) if p.kind == "minimum"]
    return np.array(found[:MAX_MINIMA], dtype=np.float64).reshape(-1, 2)


def stored_minima(value) -> np.ndarray:
    try:
        minima = np.asarray(value, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise LosslabError("the page state is damaged: reload the page.") from None
    if len(minima) > MAX_MINIMA or not np.isfinite(minima).all():
        raise LosslabError("the page state is damaged: reload the page.")
    return minima


def _stored_point(value):
    if isinstance(value, list) and len(value) == 2:
        return parse.point({"x": value[0], "y": value[1]}, 2)
    return None


def reach_step(run, minima: np.ndarray, radius: float) -> int | None:
    """The first step at which the run is within `radius` of a known minimum."""
    if not len(minima):
        return None
    distance = np.linalg.norm(run.path[:, None, :] - minima[None, :, :], axis=-1).min(axis=1)
    hits = np.nonzero(distance <= radius)[0]
    return int(hits[0]) if len(hits) else None


def winner(runs, reached, radius: float, n_steps: int) -> dict:
    """The scoreboard's banner: who got there first (ties named together), shown at that step."""
    steps = [r for r in reached if r is not None]
    if not steps:
        return {
            "text": f"No optimizer came within {number(radius, 2)} of a known minimum in "
            f"{n_steps} steps.",
            "step": None,
        }
    first = min(steps)
    names = [run.optimizer for run, r in zip(runs, reached, strict=True) if r == first]
    who = names[0] if len(names) == 1 else " and ".join(names) + " (a tie)"
    return {
        "text": f"First to the minimum: {who}, at step {first} (within {number(radius, 2)} of it).",
        "step": first,
    }


def patch_runs(runs, revision: int) -> Patch:
    """Each run's path, start, end and loss line as the first frame of the animation that
    follows, and the loss panel's new ranges."""
    patch = Patch()
    plane = scenes.bare_panel()
    for i, run in enumerate(runs):
        where = figures.run_indices(i, len(runs), loss_panel=True)
        items = scenes.first_frame(scenes.run_items(run))
        for role, trace in zip(("path", "start", "end"), figures.traces(plane, items), strict=True):
            patch["data"][where[role]] = trace
    losses = scenes.loss_panel_of(runs, first=True)
    for i, trace in enumerate(figures.traces(losses, losses.items, xaxis="x2", yaxis="y2")):
        patch["data"][figures.run_indices(i, len(runs), loss_panel=True)["loss"]] = trace
    for name, axis in zip(("xaxis2", "yaxis2"), figures.axes(losses), strict=True):
        patch["layout"][name]["range"] = axis["range"]
        patch["layout"][name]["type"] = axis.get("type", "linear")
        patch["layout"][name]["title"] = axis["title"]
    patch["layout"]["datarevision"] = revision
    return patch


def replay(runs, reached, banner: dict, revision: int) -> dict:
    tracks = []
    rows = []
    log = scenes.loss_log(runs)
    for i, (run, step) in enumerate(zip(runs, reached, strict=True)):
        where = figures.run_indices(i, len(runs), loss_panel=True)
        x, y = run.path[:, 0], run.path[:, 1]
        tracks += [
            animation.path_track(where["path"], x, y),
            animation.end_track(where["end"], x[-1:], y[-1:], n=len(x)),
            animation.path_track(where["loss"], run.steps, scenes.shown_losses(run, log)),
        ]
        # its status at the end: the diagnosis's label, "at a saddle, not a minimum"
        rows.append(animation.board_row(run, [run.losses], reached=step))
    n_frames = max(len(run.losses) for run in runs)
    return animation.spec(
        ID.graph,
        revision,
        tracks,
        n_frames,
        duration=animation.duration_ms(n_frames, per_step=12, low=1500, high=5000),
        autoplay=True,
        board=animation.board(ID.board, ["loss"], rows, banner),
    )


def layout():
    controls = [
        ui.surface_picker(ID.surface, ID.expression, ID.apply, default=DEFAULT_SURFACE),
        ui.control(
            "Optimizers",
            dcc.Checklist(
                id=ID.optimizers,
                options=[{"label": name, "value": name} for name in optimizer_names()],
                value=list(DEFAULT_OPTIMIZERS),
                className="ll-checks ll-columns",
                inputClassName="ll-radio",
            ),
        ),
        ui.control(
            "Learning rates",
            html.Div([rate_row(name) for name in RATED]),
            hint="Each optimizer has its own rate; a new surface resets them to rates that "
            "give each a fair race there. Newton takes its natural step (lr = 1).",
        ),
        ui.control("Steps", ui.steps_input(ID.steps, N_STEPS, high=MAX_STEPS), html_for=ID.steps),
        html.Div([ui.button(ID.run, "Replay \u25b6", primary=True)], className="ll-buttons"),
        html.Div("Click the map to start every optimizer from that point.", className="ll-hint"),
    ]
    main = [
        ui.graph(ID.graph, narrow_height=figures.RACE_NARROW_HEIGHT),
        html.Div([ui.board(ID.board), ui.message(ID.message)], className="ll-under"),
        dcc.Store(id=ID.state),
        dcc.Store(id=ID.click),
        dcc.Store(id=ID.spec),
        dcc.Store(id=ID.player),
        dcc.Store(id=ID.rates),  # {name: log10 lr}, settled; the server fills it first
    ]
    return ui.page_frame(KEY, PAGE.title, LEDE, controls, main, QUESTIONS)


def rate_row(name: str):
    """One optimizer's rate: its name, the value, a log slider; shown only while it is ticked."""
    shown = name in DEFAULT_OPTIMIZERS
    return html.Div(
        [
            html.Div(
                [
                    html.Span(name, className="ll-rate-name"),
                    html.Span(id={"type": RATE_TEXT, "name": name}),
                ],
                className="ll-value",
            ),
            dcc.Slider(
                id={"type": RATE, "name": name},
                min=LR_LOW,
                max=LR_HIGH,
                step=0.01,
                value=-3.0,
                marks={e: {"label": ui.power_label(e)} for e in range(LR_LOW, LR_HIGH + 1)},
                updatemode="mouseup",
                allow_direct_input=False,
                included=False,
            ),
        ],
        id={"type": RATE_ROW, "name": name},
        className="ll-rate",
        style={"display": "block" if shown else "none"},
    )


def register(app) -> None:
    def failed(message: shared.Message) -> tuple:
        return Result(message=message.text, level=message.level).values()

    def callback(surface, _apply, _submit, chosen, click, rates, steps, expression, state):
        return update(
            shared.triggered(), surface, expression, chosen, click, rates, steps, state
        ).values()

    app.callback(
        Output(ID.graph, "figure"),
        Output(ID.surface, "value"),
        Output(ID.message, "children"),
        Output(ID.message, "className"),
        Output(ID.spec, "data"),
        Output(ID.state, "data"),
        Output(ID.rates, "data"),
        Input(ID.surface, "value"),
        Input(ID.apply, "n_clicks"),
        Input(ID.expression, "n_submit"),
        Input(ID.optimizers, "value"),
        Input(ID.click, "data"),
        Input(ID.rates, "data"),
        Input(ID.steps, "value"),
        State(ID.expression, "value"),
        State(ID.state, "data"),
    )(shared.guarded(callback, failed))
    # Every slider's settled value lands in one store {name: log10 lr}; ticks show the rows.
    app.clientside_callback(
        f"function(v, now) {{ return window.losslab.settleRates(v, now, '{ID.rates}', "
        f"{shared.SETTLE_MS}); }}",
        Output(ID.rates, "data", allow_duplicate=True),
        Input({"type": RATE, "name": ALL}, "value"),
        State(ID.rates, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function(rates) { return window.losslab.ratesToSliders(rates); }",
        Output({"type": RATE, "name": ALL}, "value"),
        Input(ID.rates, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function(chosen) { return window.losslab.shownRows(chosen); }",
        Output({"type": RATE_ROW, "name": ALL}, "style"),
        Input(ID.optimizers, "value"),
    )
    app.clientside_callback(
        "function(e) { return window.losslab.rateText(e, 'lr'); }",
        Output({"type": RATE_TEXT, "name": MATCH}, "children"),
        Input({"type": RATE, "name": MATCH}, "value"),
    )
    shared.register_stepper(app, ID.steps, low=1, high=MAX_STEPS, fallback=N_STEPS)
    shared.register_click(app, ID.graph, ID.click, subplot="xy")
    shared.register_player(app, ID.run, ID.spec, ID.player)


LEDE = "Same surface, same start, several optimizers: who gets to the bottom first, and how?"

QUESTIONS = (
    Question(
        "On Rosenbrock from (-1.5, 2), Newton's method reaches (1, 1) in a handful of steps while "
        "gradient descent is still crawling. What does Newton use that gradient descent does not?",
        (
            Option(
                "A larger learning rate.",
                False,
                "Newton runs at lr = 1, but a larger rate alone would make gradient descent "
                "diverge across the steep valley walls.",
            ),
            Option(
                "The Hessian: it rescales each direction by its curvature.",
                True,
                "The step -H\u207b\u00b9\u2207f is short across the steep walls and long along the "
                "flat floor, so one step does what hundreds of gradient steps do.",
            ),
            Option(
                "Random noise that shakes it out of the valley.",
                False,
                "Newton's method is deterministic; it wins on Rosenbrock by using curvature.",
            ),
        ),
    ),
    Question(
        "Why does momentum overtake plain gradient descent along Rosenbrock's curved valley?",
        (
            Option(
                "It averages past gradients: the zig-zag across the valley cancels, the push along "
                "it adds up.",
                True,
                "Components that keep their sign accumulate in the velocity, ones that flip sign "
                "cancel out, so the run speeds up exactly along the valley floor.",
            ),
            Option(
                "It computes the Hessian every few steps.",
                False,
                "Momentum only keeps a running sum of gradients; it never looks at second "
                "derivatives.",
            ),
            Option(
                "It uses a smaller learning rate, which is more stable.",
                False,
                "Both share the same rate here; the difference is the velocity that momentum "
                "carries.",
            ),
        ),
    ),
    Question(
        "Race on the saddle x\u00b2 - y\u00b2 starting at (-1.5, 0.05). What does Newton's method "
        "do?",
        (
            Option(
                "It slides away along y, like gradient descent.",
                False,
                "Gradient descent does slide away; Newton's step solves for the point where the "
                "gradient is zero, and that point is the saddle itself.",
            ),
            Option(
                "It jumps straight onto the saddle point at the origin and stays there.",
                True,
                "Newton's method looks for zero gradient, not for low loss: it is attracted to "
                "saddles and maxima as much as to minima.",
            ),
            Option(
                "It diverges immediately.",
                False,
                "The Hessian of x\u00b2 - y\u00b2 is constant and invertible, so Newton's step is "
                "finite "
                "and lands on the origin in one step.",
            ),
        ),
    ),
)

PAGE = Page(
    key=KEY,
    path="/race",
    title="Optimizer race",
    teaches="What momentum and curvature (Newton) buy over plain gradient descent, side by side.",
    layout=layout,
    register=register,
    questions=QUESTIONS,
)
